package check

import (
	"slices"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// allowedPeers are the components that may reach each component.
var allowedPeers = map[string][]string{
	"aggregator":      {"participant", "coordinator", "aggregator-leaf"},
	"aggregator-leaf": {"participant"},
	"coordinator":     {"participant", "aggregator", "aggregator-leaf"},
	"participant":     {},
}

// checkNetworkPolicies requires a default deny for ingress, and that every
// ingress rule for a confed daemon admits only the components allowed to
// reach it (or explicit address blocks, or an operators' namespace for the
// coordinator), never everyone.
func checkNetworkPolicies(t *testing.T, b *bundle) {
	t.Helper()
	var pols []*networkingv1.NetworkPolicy
	for _, o := range b.objects {
		if p, ok := o.obj.(*networkingv1.NetworkPolicy); ok {
			pols = append(pols, p)
		}
	}
	for _, w := range b.workloads {
		comp := w.component()
		podLabels := labels.Set(w.pod.Labels)
		denied, covered := false, false
		for _, p := range pols {
			sel, err := metav1.LabelSelectorAsSelector(&p.Spec.PodSelector)
			if err != nil {
				t.Fatalf("NetworkPolicy %s: %v", p.Name, err)
			}
			if !sel.Matches(podLabels) || !slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
				continue
			}
			covered = true
			if len(p.Spec.Ingress) == 0 {
				denied = true
			}
			for i, rule := range p.Spec.Ingress {
				if len(rule.From) == 0 {
					t.Errorf("NetworkPolicy %s: ingress[%d] to %s admits every source", p.Name, i, comp)
				}
				for j, peer := range rule.From {
					if err := checkPeer(comp, peer); err != "" {
						t.Errorf("NetworkPolicy %s: ingress[%d].from[%d] to %s: %s", p.Name, i, j, comp, err)
					}
				}
			}
		}
		if !covered || !denied {
			t.Errorf("%s: no NetworkPolicy denies ingress to %s by default", w, comp)
		}
	}
}

func checkPeer(comp string, peer networkingv1.NetworkPolicyPeer) string {
	if peer.IPBlock != nil {
		if peer.IPBlock.CIDR == "0.0.0.0/0" || peer.IPBlock.CIDR == "::/0" {
			return "ipBlock admits the whole Internet"
		}
		return ""
	}
	if peer.PodSelector == nil {
		ns := peer.NamespaceSelector
		if comp == "coordinator" && ns != nil && ns.MatchLabels["confed.io/operators"] == "true" {
			return ""
		}
		return "admits whole namespaces, not confed components"
	}
	from := peer.PodSelector.MatchLabels[labelComponent]
	if !slices.Contains(allowedPeers[comp], from) {
		return "admits component " + from + ", which has no business there"
	}
	return ""
}
