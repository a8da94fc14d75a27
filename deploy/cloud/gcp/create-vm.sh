#!/usr/bin/env bash
# Creates a Google Cloud Confidential VM for the confed aggregator: AMD
# SEV-SNP on N2D (TEE=snp, the default) or Intel TDX on C3 (TEE=tdx), and a
# firewall rule that admits only the coordinator and the participants.
# DRY RUN by default: prints the gcloud commands; --apply runs them.
#
# Environment (required unless a default is shown):
#   PROJECT, ZONE   a zone that offers the machine type with the TEE
#   ALLOWED_CIDR    the coordinator's and participants' addresses (CIDR)
#   TEE             snp (default) or tdx
#   MACHINE_TYPE    default n2d-standard-4 (snp) or c3-standard-4 (tdx)
#   IMAGE_FAMILY, IMAGE_PROJECT  default ubuntu-2404-lts-amd64, ubuntu-os-cloud
#   NAME            default confed-aggregator
#
# Then install the aggregator (docs/deploy.md, "Google Cloud") and pin the
# values ./measure.sh reads in snp/ or tdx/attestation-policy.yaml.
set -euo pipefail
cd "$(dirname "$0")"
usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }
# shellcheck source-path=SCRIPTDIR
source ../lib.sh
parse_common_flags "$@"

for v in PROJECT ZONE ALLOWED_CIDR; do require "$v"; done
NAME=${NAME:-confed-aggregator}
TEE=${TEE:-snp}
IMAGE_FAMILY=${IMAGE_FAMILY:-ubuntu-2404-lts-amd64}
IMAGE_PROJECT=${IMAGE_PROJECT:-ubuntu-os-cloud}
case $TEE in
  snp) MACHINE_TYPE=${MACHINE_TYPE:-n2d-standard-4}
       tee_flags=(--confidential-compute-type SEV_SNP --min-cpu-platform "AMD Milan") ;;
  tdx) MACHINE_TYPE=${MACHINE_TYPE:-c3-standard-4}
       tee_flags=(--confidential-compute-type TDX) ;;
  *) echo "TEE must be snp or tdx, got $TEE" >&2; exit 2 ;;
esac

run gcloud compute firewall-rules create "$NAME-ingress" --project "$PROJECT" \
  --direction INGRESS --allow tcp:7444 --source-ranges "$ALLOWED_CIDR" --target-tags "$NAME"
# Confidential VMs cannot live-migrate: TERMINATE on host maintenance.
run gcloud compute instances create "$NAME" --project "$PROJECT" --zone "$ZONE" \
  --machine-type "$MACHINE_TYPE" "${tee_flags[@]}" \
  --maintenance-policy TERMINATE \
  --image-family "$IMAGE_FAMILY" --image-project "$IMAGE_PROJECT" \
  --shielded-secure-boot --tags "$NAME"
echo "# On the VM: dmesg | grep -iE 'sev-snp|tdx', and ls /dev/sev-guest or /sys/kernel/config/tsm/report." >&2
