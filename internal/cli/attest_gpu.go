package cli

import (
	"context"
	"fmt"

	"github.com/confed/confed/internal/tee"
	"github.com/confed/confed/internal/tee/nvgpu"
	"github.com/confed/confed/internal/tee/provider"
)

// attachGPUs verifies the GPU evidence files against the policy's
// nvidia-gpu section, bound to the same report data as the CPU TEE's
// evidence, and adds their claims to claims.GPU.
func attachGPUs(ctx context.Context, p provider.Policy, hooks provider.Hooks, files []string, claims tee.Claims, rd [64]byte) (tee.Claims, error) {
	if err := p.NVGPU.Validate(); err != nil {
		return claims, fmt.Errorf("%w: --gpu needs the policy's nvidia-gpu section: %v", errUsage, err)
	}
	o := hooks.NVGPU
	if hooks.Now != nil {
		o.Now = hooks.Now
	}
	v, err := nvgpu.NewVerifier(p.NVGPU, o)
	if err != nil {
		return claims, err
	}
	var raws [][]byte
	for _, f := range files {
		b, err := readAttestFile(f)
		if err != nil {
			return claims, err
		}
		raws = append(raws, b)
	}
	return nvgpu.Attach(ctx, claims, v, raws, rd)
}
