//go:build amd64 && !purego

#include "textflag.h"

// AVX2 + FMA kernels. Loads and stores are unaligned (VMOVUPS/VMOVDQU or
// memory operands of VEX instructions, which need no alignment), so any
// slice offset works. The adding kernels first step one element at a time
// until acc is 32-byte aligned, so that no store of the main loop splits a
// cache line (in cache, unaligned stores cost a third of the speed); x may
// stay unaligned, which costs loads little. The main loops take 128 bytes of
// x per iteration in four independent 256-bit operations; the tail is done
// one element at a time with scalar instructions that round exactly like the
// vector ones, so element i gets the same bits on every path.
// Every routine ends with VZEROUPPER: leaving the upper halves of the YMM
// registers dirty slows down the SSE code that runs afterwards (AES-GCM
// among it).

// func addScaledF32ToF64AVX2(acc *float64, x *float32, n int, w float64)
TEXT ·addScaledF32ToF64AVX2(SB), NOSPLIT, $0-32
	MOVQ         acc+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSD w+24(FP), Y0

peel:
	// One element at a time until acc is 32-byte aligned (at most 3).
	TESTQ       $31, DI
	JZ          aligned
	VCVTSS2SD   (SI), X1, X1
	VFMADD213SD (DI), X0, X1
	VMOVSD      X1, (DI)
	ADDQ        $4, SI
	ADDQ        $8, DI
	DECQ        CX
	JNZ         peel
	JMP         done

aligned:
	CMPQ CX, $16
	JB   tail

loop:
	// 16 elements: 64 bytes of x, 128 bytes of acc.
	VCVTPS2PD   (SI), Y1
	VCVTPS2PD   16(SI), Y2
	VCVTPS2PD   32(SI), Y3
	VCVTPS2PD   48(SI), Y4
	VFMADD213PD (DI), Y0, Y1   // Y1 = w*Y1 + acc
	VFMADD213PD 32(DI), Y0, Y2
	VFMADD213PD 64(DI), Y0, Y3
	VFMADD213PD 96(DI), Y0, Y4
	VMOVUPD     Y1, (DI)
	VMOVUPD     Y2, 32(DI)
	VMOVUPD     Y3, 64(DI)
	VMOVUPD     Y4, 96(DI)
	ADDQ        $64, SI
	ADDQ        $128, DI
	SUBQ        $16, CX
	CMPQ        CX, $16
	JAE         loop

tail:
	TESTQ CX, CX
	JZ    done

tailloop:
	VCVTSS2SD   (SI), X1, X1
	VFMADD213SD (DI), X0, X1
	VMOVSD      X1, (DI)
	ADDQ        $4, SI
	ADDQ        $8, DI
	DECQ        CX
	JNZ         tailloop

done:
	VZEROUPPER
	RET

// func addScaledF32AVX2(acc *float32, x *float32, n int, w float32)
TEXT ·addScaledF32AVX2(SB), NOSPLIT, $0-28
	MOVQ         acc+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS w+24(FP), Y0

peel:
	// One element at a time until acc is 32-byte aligned (at most 7).
	TESTQ       $31, DI
	JZ          aligned
	VMOVSS      (SI), X1
	VFMADD213SS (DI), X0, X1
	VMOVSS      X1, (DI)
	ADDQ        $4, SI
	ADDQ        $4, DI
	DECQ        CX
	JNZ         peel
	JMP         done

aligned:
	CMPQ CX, $32
	JB   tail

loop:
	// 32 elements: 128 bytes of x and of acc.
	VMOVUPS     (SI), Y1
	VMOVUPS     32(SI), Y2
	VMOVUPS     64(SI), Y3
	VMOVUPS     96(SI), Y4
	VFMADD213PS (DI), Y0, Y1   // Y1 = w*Y1 + acc
	VFMADD213PS 32(DI), Y0, Y2
	VFMADD213PS 64(DI), Y0, Y3
	VFMADD213PS 96(DI), Y0, Y4
	VMOVUPS     Y1, (DI)
	VMOVUPS     Y2, 32(DI)
	VMOVUPS     Y3, 64(DI)
	VMOVUPS     Y4, 96(DI)
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	CMPQ        CX, $32
	JAE         loop

tail:
	TESTQ CX, CX
	JZ    done

tailloop:
	VMOVSS      (SI), X1
	VFMADD213SS (DI), X0, X1
	VMOVSS      X1, (DI)
	ADDQ        $4, SI
	ADDQ        $4, DI
	DECQ        CX
	JNZ         tailloop

done:
	VZEROUPPER
	RET

// func addU32AVX2(acc *uint32, x *uint32, n int)
TEXT ·addU32AVX2(SB), NOSPLIT, $0-24
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX

peel:
	TESTQ $31, DI
	JZ    aligned
	MOVL  (SI), AX
	ADDL  AX, (DI)
	ADDQ  $4, SI
	ADDQ  $4, DI
	DECQ  CX
	JNZ   peel
	JMP   done

aligned:
	CMPQ CX, $32
	JB   tail

loop:
	VMOVDQU (SI), Y1
	VMOVDQU 32(SI), Y2
	VMOVDQU 64(SI), Y3
	VMOVDQU 96(SI), Y4
	VPADDD  (DI), Y1, Y1
	VPADDD  32(DI), Y2, Y2
	VPADDD  64(DI), Y3, Y3
	VPADDD  96(DI), Y4, Y4
	VMOVDQU Y1, (DI)
	VMOVDQU Y2, 32(DI)
	VMOVDQU Y3, 64(DI)
	VMOVDQU Y4, 96(DI)
	ADDQ    $128, SI
	ADDQ    $128, DI
	SUBQ    $32, CX
	CMPQ    CX, $32
	JAE     loop

tail:
	TESTQ CX, CX
	JZ    done

tailloop:
	MOVL (SI), AX
	ADDL AX, (DI)
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JNZ  tailloop

done:
	VZEROUPPER
	RET

// func addU64AVX2(acc *uint64, x *uint64, n int)
TEXT ·addU64AVX2(SB), NOSPLIT, $0-24
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX

peel:
	TESTQ $31, DI
	JZ    aligned
	MOVQ  (SI), AX
	ADDQ  AX, (DI)
	ADDQ  $8, SI
	ADDQ  $8, DI
	DECQ  CX
	JNZ   peel
	JMP   done

aligned:
	CMPQ CX, $16
	JB   tail

loop:
	VMOVDQU (SI), Y1
	VMOVDQU 32(SI), Y2
	VMOVDQU 64(SI), Y3
	VMOVDQU 96(SI), Y4
	VPADDQ  (DI), Y1, Y1
	VPADDQ  32(DI), Y2, Y2
	VPADDQ  64(DI), Y3, Y3
	VPADDQ  96(DI), Y4, Y4
	VMOVDQU Y1, (DI)
	VMOVDQU Y2, 32(DI)
	VMOVDQU Y3, 64(DI)
	VMOVDQU Y4, 96(DI)
	ADDQ    $128, SI
	ADDQ    $128, DI
	SUBQ    $16, CX
	CMPQ    CX, $16
	JAE     loop

tail:
	TESTQ CX, CX
	JZ    done

tailloop:
	MOVQ (SI), AX
	ADDQ AX, (DI)
	ADDQ $8, SI
	ADDQ $8, DI
	DECQ CX
	JNZ  tailloop

done:
	VZEROUPPER
	RET

// func checkF32AVX2(x *float32, n int) (sum float64, done int)
//
// Per 32-element block: test the exponent bits of all 32 values (all ones
// means NaN or ±Inf); if any is set, stop before the block. Otherwise widen
// the block to float64 in eight 4-lane groups and add each group's squares
// into its own accumulator Y0..Y7 (element i goes to partial sum i mod 32;
// eight independent chains hide the FMA latency). The squares are exact, so
// the FMA rounds like an add. The reduction order is the one of reduce32.
TEXT ·checkF32AVX2(SB), NOSPLIT, $0-32
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), BX
	ANDQ         $~31, BX          // BX = elements in whole blocks
	XORQ         AX, AX            // AX = done
	MOVL         $0x7f800000, DX
	MOVQ         DX, X15
	VPBROADCASTD X15, Y15          // exponent mask
	VXORPD       Y0, Y0, Y0
	VXORPD       Y1, Y1, Y1
	VXORPD       Y2, Y2, Y2
	VXORPD       Y3, Y3, Y3
	VXORPD       Y4, Y4, Y4
	VXORPD       Y5, Y5, Y5
	VXORPD       Y6, Y6, Y6
	VXORPD       Y7, Y7, Y7
	CMPQ         AX, BX
	JAE          reduce

loop:
	VPAND    (SI), Y15, Y8
	VPAND    32(SI), Y15, Y9
	VPAND    64(SI), Y15, Y10
	VPAND    96(SI), Y15, Y11
	VPCMPEQD Y15, Y8, Y8
	VPCMPEQD Y15, Y9, Y9
	VPCMPEQD Y15, Y10, Y10
	VPCMPEQD Y15, Y11, Y11
	VPOR     Y9, Y8, Y8
	VPOR     Y11, Y10, Y10
	VPOR     Y10, Y8, Y8
	VPTEST   Y8, Y8
	JNZ      reduce                // a non-finite value in this block

	VCVTPS2PD   (SI), Y8
	VCVTPS2PD   16(SI), Y9
	VCVTPS2PD   32(SI), Y10
	VCVTPS2PD   48(SI), Y11
	VFMADD231PD Y8, Y8, Y0         // Y0 += Y8*Y8
	VFMADD231PD Y9, Y9, Y1
	VFMADD231PD Y10, Y10, Y2
	VFMADD231PD Y11, Y11, Y3
	VCVTPS2PD   64(SI), Y8
	VCVTPS2PD   80(SI), Y9
	VCVTPS2PD   96(SI), Y10
	VCVTPS2PD   112(SI), Y11
	VFMADD231PD Y8, Y8, Y4
	VFMADD231PD Y9, Y9, Y5
	VFMADD231PD Y10, Y10, Y6
	VFMADD231PD Y11, Y11, Y7
	ADDQ        $128, SI
	ADDQ        $32, AX
	CMPQ        AX, BX
	JB          loop

reduce:
	VADDPD       Y1, Y0, Y0
	VADDPD       Y3, Y2, Y2
	VADDPD       Y5, Y4, Y4
	VADDPD       Y7, Y6, Y6
	VADDPD       Y2, Y0, Y0
	VADDPD       Y6, Y4, Y4
	VADDPD       Y4, Y0, Y0        // lanes v0..v3
	VEXTRACTF128 $1, Y0, X1
	VADDPD       X1, X0, X0        // (v0+v2, v1+v3)
	VUNPCKHPD    X0, X0, X1
	VADDSD       X1, X0, X0        // (v0+v2) + (v1+v3)
	VMOVSD       X0, sum+16(FP)
	MOVQ         AX, done+24(FP)
	VZEROUPPER
	RET
