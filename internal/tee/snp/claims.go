package snp

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/confed/confed/internal/tee"
	"github.com/google/go-sev-guest/abi"
	spb "github.com/google/go-sev-guest/proto/sevsnp"
)

// makeClaims turns a verified and validated attestation into claims.
func makeClaims(att *spb.Attestation, reportData [64]byte, now time.Time) tee.Claims {
	r := att.GetReport()
	guest, _ := abi.ParseSnpPolicy(r.GetPolicy())
	_, product := productOf(att)
	signer := "unknown"
	if info, err := abi.ParseSignerInfo(r.GetSignerInfo()); err == nil {
		signer = strings.ToLower(info.SigningKey.String())
	}
	return tee.Claims{
		Kind:        tee.KindSEVSNP,
		Measurement: bytes.Clone(r.GetMeasurement()),
		Debug:       guest.Debug,
		TCB:         TCBFromVersion(r.GetReportedTcb()).String(),
		ReportData:  reportData,
		VerifiedAt:  now,
		Details: map[string]string{
			"vmpl":         strconv.FormatUint(uint64(r.GetVmpl()), 10),
			"guest_svn":    strconv.FormatUint(uint64(r.GetGuestSvn()), 10),
			"policy":       fmt.Sprintf("0x%x", r.GetPolicy()),
			"host_data":    fmt.Sprintf("%x", r.GetHostData()),
			"chip_id":      short(r.GetChipId()),
			"product":      product,
			"current_tcb":  TCBFromVersion(r.GetCurrentTcb()).String(),
			"reported_tcb": TCBFromVersion(r.GetReportedTcb()).String(),
			"launch_tcb":   TCBFromVersion(r.GetLaunchTcb()).String(),
			"signer":       signer,
		},
	}
}
