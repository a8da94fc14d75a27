#!/usr/bin/env bash
# Computes the SEV-SNP launch measurement of an EC2 instance, the value of
# attestation-policy.yaml's measurements. DRY RUN by default: prints the
# commands; --apply runs them.
#
# EC2 launches SEV-SNP guests with AWS's own OVMF build, which AWS publishes
# as source that builds reproducibly (the aws/uefi repository, built with
# Nix). Build it, then compute the measurement for your instance's vCPU
# count with virtee's sev-snp-measure, which models EC2's VMM:
#
#   OVMF     path of the ovmf_img.fd you built (required)
#   VCPUS    vCPUs of the instance type (m6a.large: 2)
#
# Cross-check with a report from the running instance:
#   confed attest show --kind sev-snp report.bin   (MEASUREMENT field)
set -euo pipefail
cd "$(dirname "$0")"
usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }
# shellcheck source-path=SCRIPTDIR
source ../lib.sh
parse_common_flags "$@"
require OVMF
VCPUS=${VCPUS:-2}
run sev-snp-measure --mode snp --vmm-type ec2 --vcpus "$VCPUS" --vcpu-type EPYC-v4 --ovmf "$OVMF"
