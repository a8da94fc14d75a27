// Package model holds confed's model representation: named float32 tensors
// kept sorted by name, their shapes (a Spec), and the safetensors encoding
// used to move models and updates between the aggregator and participants.
//
// The encoding written here is canonical (same model ⇒ same bytes ⇒ same
// SHA-256), while the readers accept any valid F32 safetensors file, e.g. one
// written by PyTorch or Hugging Face. StreamDecoder validates an untrusted
// update stream against an expected Spec as its bytes arrive, without ever
// holding the whole stream in memory.
//
// The package uses only the standard library: it runs inside a TEE.
package model
