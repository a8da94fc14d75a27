package check

import (
	"path/filepath"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// build runs kustomize on dir (relative to the repository) and decodes its
// output strictly.
func build(t *testing.T, dir string) []object {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(repoRoot(t), dir))
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeAll("kustomize build "+dir, out)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// secretTemplates are the Secret templates the kustomizations rely on.
func secretTemplates(t *testing.T) []object {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "deploy/kubernetes/secrets/*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Secret templates in deploy/kubernetes/secrets (%v)", err)
	}
	var out []object
	for _, f := range files {
		out = append(out, decodeFile(t, f)...)
	}
	return out
}

func TestKustomizeOverlays(t *testing.T) {
	templates := secretTemplates(t)
	checkSecrets(t, templates)
	for _, tt := range []struct {
		dir  string
		prod bool
	}{
		{"deploy/kubernetes/overlays/dev", false},
		{"deploy/kubernetes/overlays/prod", true},
		{"deploy/kubernetes/participant", true},
	} {
		t.Run(filepath.Base(tt.dir), func(t *testing.T) {
			objs := build(t, tt.dir)
			checkSecrets(t, objs)
			b := newBundle(tt.dir, append(objs, templates...))
			checkWorkloads(t, b, tt.prod)
			checkNetworkPolicies(t, b)
		})
	}
}

func TestRuntimeClass(t *testing.T) {
	objs := decodeFile(t, filepath.Join(repoRoot(t), "deploy/kubernetes/runtimeclass/kata-cc.yaml"))
	if len(objs) != 1 || objs[0].kind != "RuntimeClass" || objs[0].name != kataCC {
		t.Fatalf("runtimeclass/kata-cc.yaml must hold exactly the RuntimeClass %s, got %v", kataCC, objs)
	}
}
