#!/usr/bin/env bash
# Obtains the expected launch measurement on Google Cloud. DRY RUN by
# default: prints the commands; --apply runs them.
#
# Google signs a launch endorsement for each build of its Confidential VM
# firmware, listing the SEV-SNP measurement for each vCPU count and the
# TDX MRTD, and publishes it in the gce_tcb_integrity bucket under the
# measurement's name. google/gce-tcb-verifier's gcetcbendorsement tool
# verifies and prints it.
#
#   MEASUREMENT   the measurement (SEV-SNP, 96 hex) or MRTD (TDX) read from
#                 your VM's evidence: confed attest show EVIDENCE (required)
#   TEE           snp (default) or tdx
set -euo pipefail
cd "$(dirname "$0")"
usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }
# shellcheck source-path=SCRIPTDIR
source ../lib.sh
parse_common_flags "$@"
require MEASUREMENT
TEE=${TEE:-snp}
case $TEE in
  snp) dir=sevsnp ;;
  tdx) dir=tdx ;;
  *) echo "TEE must be snp or tdx, got $TEE" >&2; exit 2 ;;
esac
run gcloud storage cp "gs://gce_tcb_integrity/ovmf_x64_csm/$dir/$MEASUREMENT.binarypb" endorsement.binarypb
run gcetcbendorsement inspect endorsement.binarypb
echo "# The endorsement is signed by Google: check it (gcetcbendorsement verify) before pinning $MEASUREMENT." >&2
