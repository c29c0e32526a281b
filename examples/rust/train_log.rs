//! A Candle-shaped training loop in plain Rust (standard library only) that logs livetrain's JSONL format, so a
//! notebook can watch it live: `livetrain.watch("runs/rust")` in a cell, then run this program.
//!
//!     rustc -O examples/rust/train_log.rs -o train_log
//!     ./train_log runs/rust/metrics.jsonl [epochs] [ms_per_step]
//!
//! The model is a softmax regression on a synthetic 3-class problem, trained by hand-written SGD; with Candle the
//! loop has the same shape (`loss.backward()`, `sgd.step()`), and only the `log` calls matter here. Each record is
//! one line, written whole and flushed: a reader never sees half of one unless the process dies mid-write, and
//! livetrain then skips only that line.

use std::env;
use std::fs::{create_dir_all, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const CLASSES: usize = 3;
const FEATURES: usize = 2;
const BATCH: usize = 32;
const STEPS_PER_EPOCH: usize = 20;

/// A small deterministic random generator (xorshift), so runs are reproducible without crates.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.next().max(1e-12), self.next());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// One labelled point: three Gaussian blobs.
fn sample(rng: &mut Rng) -> ([f64; FEATURES], usize) {
    let label = (rng.next() * CLASSES as f64) as usize % CLASSES;
    let centre = [[0.0, 2.0], [2.0, -1.0], [-2.0, -1.0]][label];
    ([centre[0] + rng.normal(), centre[1] + rng.normal()], label)
}

/// Loss and accuracy of a batch, and the weights' gradient (with the bias as the last column).
fn forward_backward(w: &[[f64; FEATURES + 1]; CLASSES], batch: &[([f64; FEATURES], usize)])
    -> (f64, f64, [[f64; FEATURES + 1]; CLASSES]) {
    let mut grad = [[0.0; FEATURES + 1]; CLASSES];
    let (mut loss, mut correct) = (0.0, 0usize);
    for (x, y) in batch {
        let logits: Vec<f64> = w.iter().map(|row| row[0] * x[0] + row[1] * x[1] + row[2]).collect();
        let top = logits.iter().cloned().fold(f64::MIN, f64::max);
        let exp: Vec<f64> = logits.iter().map(|l| (l - top).exp()).collect();
        let sum: f64 = exp.iter().sum();
        loss -= (exp[*y] / sum).ln();
        let predicted = (0..CLASSES).max_by(|a, b| logits[*a].total_cmp(&logits[*b])).unwrap();
        correct += (predicted == *y) as usize;
        for c in 0..CLASSES {
            let d = exp[c] / sum - (c == *y) as usize as f64;
            grad[c][0] += d * x[0];
            grad[c][1] += d * x[1];
            grad[c][2] += d;
        }
    }
    let n = batch.len() as f64;
    grad.iter_mut().flatten().for_each(|g| *g /= n);
    (loss / n, correct as f64 / n, grad)
}

/// One JSONL record of livetrain's format, written whole and flushed.
fn log(out: &mut impl Write, step: usize, epoch: f64, phase: &str, metrics: &[(&str, f64)]) {
    let time = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
    let values: Vec<String> = metrics.iter().map(|(k, v)| {
        if v.is_finite() { format!("\"{k}\": {v}") } else { format!("\"{k}\": \"NaN\"") }
    }).collect();
    writeln!(out, "{{\"step\": {step}, \"epoch\": {epoch:.4}, \"phase\": \"{phase}\", \"time\": {time:.3}, \
                   \"metrics\": {{{}}}}}", values.join(", ")).expect("write the log");
    out.flush().expect("flush the log");
}

fn main() {
    let args: Vec<String> = env::args().collect();
    let path = args.get(1).map(String::as_str).unwrap_or("runs/rust/metrics.jsonl");
    let epochs: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(5);
    let pause = Duration::from_millis(args.get(3).and_then(|a| a.parse().ok()).unwrap_or(50));
    if let Some(folder) = Path::new(path).parent() {
        create_dir_all(folder).expect("create the log's folder");
    }
    let file = OpenOptions::new().create(true).append(true).open(path).expect("open the log");
    let mut out = BufWriter::new(file);
    let mut rng = Rng(0x9E3779B97F4A7C15);
    let test: Vec<_> = (0..256).map(|_| sample(&mut rng)).collect();
    let mut w = [[0.0; FEATURES + 1]; CLASSES];
    let lr = 0.1;
    for epoch in 0..epochs {
        for i in 0..STEPS_PER_EPOCH {
            let batch: Vec<_> = (0..BATCH).map(|_| sample(&mut rng)).collect();
            let (loss, acc, grad) = forward_backward(&w, &batch);
            for c in 0..CLASSES {
                for j in 0..=FEATURES {
                    w[c][j] -= lr * grad[c][j];
                }
            }
            let step = epoch * STEPS_PER_EPOCH + i + 1;
            log(&mut out, step, epoch as f64 + (i + 1) as f64 / STEPS_PER_EPOCH as f64, "train",
                &[("loss", loss), ("acc", acc)]);
            sleep(pause);
        }
        let (loss, acc, _) = forward_backward(&w, &test);
        log(&mut out, (epoch + 1) * STEPS_PER_EPOCH, (epoch + 1) as f64, "test", &[("loss", loss), ("acc", acc)]);
    }
}
