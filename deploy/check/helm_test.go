package check

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"text/template"

	"sigs.k8s.io/yaml"
)

// The chart is rendered here with Go's text/template and the few Helm
// functions it uses, not with Helm's engine: helm.sh/helm/v3/pkg/engine
// pulls in client-go, and compiling it cold took 6m45s on this 2-core
// machine (531 packages), too much for `make test`. Templates that use any
// other function fail to parse here, so the chart stays within what this
// renderer and `helm template` agree on. missingkey=error is stricter than
// Helm, which prints nothing for a missing value.

const chartDir = "deploy/helm/confed"

type release struct{ Name, Namespace, Service string }

type chartMeta struct {
	APIVersion  string `json:"apiVersion"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Type        string `json:"type"`
	Version     string `json:"version"`
	AppVersion  string `json:"appVersion"`
}

// helmFuncs are the Helm (sprig) functions the chart may use.
func helmFuncs(tpl **template.Template) template.FuncMap {
	indent := func(n int, s string) string {
		pad := strings.Repeat(" ", n)
		return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
	}
	return template.FuncMap{
		"include": func(name string, data any) (string, error) {
			var b bytes.Buffer
			err := (*tpl).ExecuteTemplate(&b, name, data)
			return b.String(), err
		},
		"toYaml": func(v any) (string, error) {
			out, err := yaml.Marshal(v)
			return strings.TrimSuffix(string(out), "\n"), err
		},
		"indent":  indent,
		"nindent": func(n int, s string) string { return "\n" + indent(n, s) },
		"quote":   func(v any) string { return strconv.Quote(fmt.Sprint(v)) },
		"required": func(msg string, v any) (any, error) {
			if v == nil || v == "" {
				return nil, fmt.Errorf("%s", msg)
			}
			return v, nil
		},
		"fail": func(msg string) (string, error) { return "", fmt.Errorf("%s", msg) },
		"default": func(def, v any) any {
			if v == nil || v == "" || v == false || v == 0 {
				return def
			}
			return v
		},
	}
}

// mergeValues overlays src on dst as Helm does: maps merge key by key,
// anything else replaces.
func mergeValues(dst, src map[string]any) map[string]any {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				dst[k] = mergeValues(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
	return dst
}

func readValues(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := yaml.UnmarshalStrict(data, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

// renderChart renders every manifest template of the chart with the
// default values overlaid by each of overlays.
func renderChart(t *testing.T, values map[string]any) ([]byte, error) {
	t.Helper()
	dir := filepath.Join(repoRoot(t), chartDir)
	data, err := os.ReadFile(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var meta chartMeta
	if err := yaml.UnmarshalStrict(data, &meta); err != nil {
		t.Fatalf("Chart.yaml: %v", err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "templates", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates in %s", dir)
	}
	var tpl *template.Template
	tpl = template.New("chart").Option("missingkey=error").Funcs(helmFuncs(&tpl))
	var manifests []string
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		if _, err := tpl.New(name).Parse(string(src)); err != nil {
			return nil, fmt.Errorf("parsing %s: %w", name, err)
		}
		if !strings.HasPrefix(name, "_") && strings.HasSuffix(name, ".yaml") {
			manifests = append(manifests, name)
		}
	}
	top := map[string]any{
		"Values":  values,
		"Release": release{Name: "confed", Namespace: "confed", Service: "Helm"},
		"Chart":   map[string]any{"Name": meta.Name, "Version": meta.Version, "AppVersion": meta.AppVersion},
	}
	var out bytes.Buffer
	for _, m := range manifests {
		var b bytes.Buffer
		if err := tpl.ExecuteTemplate(&b, m, top); err != nil {
			return nil, fmt.Errorf("rendering %s: %w", m, err)
		}
		if strings.TrimSpace(b.String()) == "" {
			continue // Helm skips a template that renders nothing
		}
		fmt.Fprintf(&out, "---\n# Source: confed/templates/%s\n%s\n", m, b.String())
	}
	return out.Bytes(), nil
}

func TestHelmChart(t *testing.T) {
	dir := filepath.Join(repoRoot(t), chartDir)
	templates := secretTemplates(t)
	// tree runs two leaf aggregators under the root (aggregator-leaf.yaml).
	tree := map[string]any{"tree": map[string]any{"rootName": "aggregator",
		"leafAddresses": []any{"leaf-0.federation.example.org:7444", "leaf-1.federation.example.org:7444"}}}
	for _, tt := range []struct {
		name     string
		overlays []string
		set      map[string]any
		prod     bool
	}{
		{"defaults", nil, nil, true},
		{"dev", []string{"values-dev.yaml"}, nil, false},
		{"tree", nil, tree, true},
		{"dev tree", []string{"values-dev.yaml"}, tree, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			values := readValues(t, filepath.Join(dir, "values.yaml"))
			for _, o := range tt.overlays {
				values = mergeValues(values, readValues(t, filepath.Join(dir, o)))
			}
			values = mergeValues(values, tt.set)
			out, err := renderChart(t, values)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := decodeAll("helm template ("+tt.name+")", out)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			checkSecrets(t, objs)
			b := newBundle("chart "+tt.name, append(objs, templates...))
			checkWorkloads(t, b, tt.prod)
			checkNetworkPolicies(t, b)
		})
	}
}

// TestHelmChartRefusesInsecureMixes checks the chart's guards: the
// simulated TEE only with the insecure switch, and never the insecure
// switch with a real TEE or without the confidential runtime.
func TestHelmChartRefusesInsecureMixes(t *testing.T) {
	dir := filepath.Join(repoRoot(t), chartDir)
	for _, tt := range []struct {
		name string
		set  map[string]any
		want string
	}{
		{"simulated without the switch", map[string]any{"attestation": map[string]any{"tee": "simulated"}}, "INSECURE"},
		{"switch with a real TEE", map[string]any{"insecureSimulatedTEE": true, "runtimeClassName": ""}, "needs attestation.tee: simulated"},
		{"no confidential runtime", map[string]any{"runtimeClassName": ""}, "runtimeClassName: kata-cc"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			values := mergeValues(readValues(t, filepath.Join(dir, "values.yaml")), tt.set)
			_, err := renderChart(t, values)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
