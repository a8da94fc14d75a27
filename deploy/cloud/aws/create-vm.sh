#!/usr/bin/env bash
# Launches an AWS EC2 SEV-SNP instance for the confed aggregator, and a
# security group that admits only the coordinator and the participants.
# DRY RUN by default: prints the aws commands; --apply runs them.
#
# Environment (required unless a default is shown):
#   AWS_REGION     a region with SEV-SNP instances (e.g. us-east-2, eu-west-1)
#   AMI_ID         an AMI that boots with UEFI and supports SEV-SNP (Amazon
#                  Linux 2023 or Ubuntu 24.04: boot mode uefi or uefi-preferred)
#   SUBNET_ID, VPC_ID, KEY_NAME
#   ALLOWED_CIDR   the coordinator's and participants' addresses (CIDR)
#   INSTANCE_TYPE  default m6a.large (M6a, C6a and R6a support SEV-SNP)
#   NAME           default confed-aggregator
#
# Then install the aggregator (docs/deploy.md, "AWS") and pin the
# measurement that ./measure.sh computes in attestation-policy.yaml.
set -euo pipefail
cd "$(dirname "$0")"
usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }
# shellcheck source-path=SCRIPTDIR
source ../lib.sh
parse_common_flags "$@"

for v in AWS_REGION AMI_ID SUBNET_ID VPC_ID KEY_NAME ALLOWED_CIDR; do require "$v"; done
NAME=${NAME:-confed-aggregator}
INSTANCE_TYPE=${INSTANCE_TYPE:-m6a.large}
case $INSTANCE_TYPE in
  m6a.*|c6a.*|r6a.*) ;;
  *) echo "INSTANCE_TYPE $INSTANCE_TYPE: SEV-SNP is only on M6a, C6a and R6a" >&2; exit 2 ;;
esac

run_capture SG_ID aws ec2 create-security-group --region "$AWS_REGION" --vpc-id "$VPC_ID" \
  --group-name "$NAME" --description "confed aggregator: participants and coordinator only" \
  --query GroupId --output text
run aws ec2 authorize-security-group-ingress --region "$AWS_REGION" --group-id "$SG_ID" \
  --protocol tcp --port 7444 --cidr "$ALLOWED_CIDR"
run aws ec2 run-instances --region "$AWS_REGION" \
  --image-id "$AMI_ID" --instance-type "$INSTANCE_TYPE" \
  --cpu-options AmdSevSnp=enabled \
  --subnet-id "$SUBNET_ID" --security-group-ids "$SG_ID" --key-name "$KEY_NAME" \
  --metadata-options HttpTokens=required \
  --tag-specifications "ResourceType=instance,Tags=[{Key=Name,Value=$NAME}]"
echo "# On the instance: dmesg | grep -i sev-snp, and ls /dev/sev-guest, before installing the aggregator." >&2
