#!/usr/bin/env bash
# Creates an Azure confidential VM (DCasv5/ECasv5, AMD SEV-SNP) with
# --security-type ConfidentialVM. DRY RUN by default: prints the az
# commands; --apply runs them.
#
# READ FIRST: on these VMs a paravisor owns the SEV-SNP guest interface;
# the guest has no /dev/sev-guest and cannot choose the report data (the
# report binds the vTPM's key instead). confed's aggregator binds its keys
# through the report data, so it REFUSES TO START here ("this machine is
# not an SEV-SNP guest"). Use this VM for the coordinator or a participant
# (which need no TEE), and run the aggregator on Azure in AKS Confidential
# Containers (aks-coco/, docs/deploy.md "Azure").
#
# Environment (required unless a default is shown):
#   RESOURCE_GROUP, LOCATION, ADMIN_USER, SSH_KEY (path of a public key)
#   SIZE     default Standard_DC4as_v5 (or Standard_EC4as_v5)
#   IMAGE    default Canonical:0001-com-ubuntu-confidential-vm-jammy:22_04-lts-cvm:latest
#            (pin a version instead of latest for a reproducible setup)
#   NAME     default confed-coordinator
set -euo pipefail
cd "$(dirname "$0")"
usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; }
# shellcheck source-path=SCRIPTDIR
source ../lib.sh
parse_common_flags "$@"

for v in RESOURCE_GROUP LOCATION ADMIN_USER SSH_KEY; do require "$v"; done
NAME=${NAME:-confed-coordinator}
SIZE=${SIZE:-Standard_DC4as_v5}
IMAGE=${IMAGE:-Canonical:0001-com-ubuntu-confidential-vm-jammy:22_04-lts-cvm:latest}
case $SIZE in
  Standard_DC*as_v5|Standard_EC*as_v5) ;;
  *) echo "SIZE $SIZE: want a DCasv5 or ECasv5 size (AMD SEV-SNP)" >&2; exit 2 ;;
esac

run az vm create --resource-group "$RESOURCE_GROUP" --location "$LOCATION" --name "$NAME" \
  --size "$SIZE" --image "$IMAGE" \
  --security-type ConfidentialVM --os-disk-security-encryption-type VMGuestStateOnly \
  --enable-secure-boot true --enable-vtpm true \
  --admin-username "$ADMIN_USER" --ssh-key-values "$SSH_KEY" \
  --public-ip-sku Standard --nsg-rule NONE
run az network nsg rule create --resource-group "$RESOURCE_GROUP" --nsg-name "${NAME}NSG" \
  --name confed-grpc --priority 1000 --direction Inbound --access Allow --protocol Tcp \
  --destination-port-ranges 7443 --source-address-prefixes "${ALLOWED_CIDR:-<participants CIDR>}"
