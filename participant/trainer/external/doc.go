// Package external runs a hospital's own trainer (PyTorch, scikit-learn, …)
// as a separate process for one round, under a documented contract (see
// docs/trainers.md):
//
//   - the daemon makes a fresh private work directory and writes into it the
//     global model (global.safetensors, canonical encoding, as stored) and
//     the round's description (round.json: round, hyper-parameters, seed,
//     data location and split, model tensors, output paths);
//   - it runs the configured command (argv, no shell) in that directory,
//     with an environment limited to a few documented variables and an
//     allow-list, under a timeout after which the whole process group is
//     killed; the trainer's stdout and stderr go to the log, capped;
//   - the trainer writes model.safetensors (the local model) and
//     metrics.json (num_examples, loss, accuracy, optional extra numbers);
//   - the daemon validates both strictly (same tensors, dtypes and shapes as
//     the global model, finite values, frozen tensors unchanged, size
//     limits, metrics schema with unknown keys refused) and removes the work
//     directory.
//
// Every failure is an *Error naming the file or step and what was
// expected; the daemon reports it to the coordinator and skips the round.
// The trainer's output never reaches an error message (it stays in the
// local log), so a trainer that prints data cannot leak it through a
// problem report.
package external
