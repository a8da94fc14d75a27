#!/usr/bin/env bash
# Checks deploy/ansible: syntax, ansible-lint, the TEE check's refusal on a
# host without a TEE, and a check-mode run of the participant role on this
# machine (it changes nothing). Called by `make deploy-check`; the Go tests
# in deploy/check parse the role's rendered templates.
set -euo pipefail
cd "$(dirname "$0")"
export ANSIBLE_NOCOLOR=1 ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ansible-playbook --syntax-check site.yml tests/render.yml
ansible-lint --offline -q site.yml tests/render.yml roles
echo "ansible-lint: passed"

printf '[participants]\nlocalhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n' > "$tmp/inventory"
for f in bin cert key ca; do echo placeholder > "$tmp/$f"; done
cat > "$tmp/vars.yml" <<VARS
confed_participant_name: cleveland
confed_participant_binary: $tmp/bin
confed_participant_cert: $tmp/cert
confed_participant_key: $tmp/key
confed_participant_ca: $tmp/ca
confed_participant_aggregator_attestation:
  tee: sev-snp
  sev-snp:
    measurements: ["$(printf '0%.0s' {1..96})"]
VARS

# The TEE check must refuse a host without a TEE, saying why. (On a real
# SEV-SNP or TDX guest it passes, and so does this check.)
if ansible-playbook -i "$tmp/inventory" --check site.yml -e @"$tmp/vars.yml" >"$tmp/tee.log" 2>&1; then
  echo "ansible: this machine passed the TEE check: it is an SEV-SNP or TDX guest"
elif grep -q "has no usable TEE for a guest" "$tmp/tee.log"; then
  echo "ansible: the TEE check refuses this machine (no TEE) with its message, as it should"
else
  cat "$tmp/tee.log" >&2
  echo "ansible: the TEE check failed without its message" >&2
  exit 1
fi

# Check mode of the whole participant installation (no systemd here, so
# the service tasks are skipped).
ansible-playbook -i "$tmp/inventory" --check --diff site.yml -e @"$tmp/vars.yml" \
  -e tee_check_enabled=false --skip-tags service >"$tmp/check.log" 2>&1 || { cat "$tmp/check.log" >&2; exit 1; }
grep -A1 "PLAY RECAP" "$tmp/check.log" | tail -1
