// Package fedavg is the aggregator's federated-averaging core: it validates
// participants' model updates as their bytes arrive and accumulates their
// example-weighted mean, in memory proportional to one model.
//
// An update is the delta local − global encoded as a canonical safetensors
// stream (see package model), with its example count. The flow per round:
//
//	pool := NewBufferPool(spec, K)          // K staging buffers
//	acc := NewAccumulator(spec)             // one float64 model-sized sum
//	buf, _ := pool.Get(ctx)
//	in, _ := NewIngestor(spec, buf, size, sha, limits)
//	for chunk := range stream { in.Write(chunk) }
//	staged, _ := in.Finish()
//	acc.Add(staged.Values, float64(examples))
//	pool.Put(buf)
//	next, _ := Apply(global, acc)
//
// Memory is K float32 staging buffers plus one float64 accumulator, however
// many participants submit. Refused updates are reported as *RefusalError
// with a machine-readable Reason. Nothing here logs or prints model values.
//
// The package uses only the standard library and package model: it runs
// inside a TEE.
package fedavg
