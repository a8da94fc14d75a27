package check

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/confed/confed/aggregator"
	"github.com/confed/confed/coordinator"
	"github.com/confed/confed/coordinator/roundconfig"
	"github.com/confed/confed/internal/yamlcfg"
	"github.com/confed/confed/participant"
	confedv1 "github.com/confed/confed/proto/confed/v1"
)

const (
	labelComponent = "app.kubernetes.io/component"
	labelInsecure  = "confed.io/insecure-simulated-tee"
	flagInsecure   = "--insecure-simulated-tee"
	kataCC         = "kata-cc"
)

// readinessService is the gRPC health service each daemon reports its
// readiness under (internal/health).
var readinessService = map[string]string{
	"aggregator":      confedv1.Aggregator_ServiceDesc.ServiceName,
	"aggregator-leaf": confedv1.Aggregator_ServiceDesc.ServiceName,
	"coordinator":     confedv1.Federation_ServiceDesc.ServiceName,
	"participant":     confedv1.Federation_ServiceDesc.ServiceName,
}

// workload is a Deployment or StatefulSet with what the checks need.
type workload struct {
	source, kind, name string
	labels             map[string]string
	pod                corev1.PodTemplateSpec
	claims             []string // volumeClaimTemplates (StatefulSet)
}

func (w workload) String() string { return fmt.Sprintf("%s %s (%s)", w.kind, w.name, w.source) }

func (w workload) component() string { return w.pod.Labels[labelComponent] }

// bundle is everything one build (an overlay, the chart) produced.
type bundle struct {
	name      string
	objects   []object
	workloads []workload
	configMap map[string]*corev1.ConfigMap
	secrets   map[string]*corev1.Secret
}

func newBundle(name string, objs []object) *bundle {
	b := &bundle{name: name, objects: objs, configMap: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}}
	for _, o := range objs {
		switch v := o.obj.(type) {
		case *appsv1.Deployment:
			b.workloads = append(b.workloads, workload{o.source, o.kind, o.name, v.Labels, v.Spec.Template, nil})
		case *appsv1.StatefulSet:
			var claims []string
			for _, c := range v.Spec.VolumeClaimTemplates {
				claims = append(claims, c.Name)
			}
			b.workloads = append(b.workloads, workload{o.source, o.kind, o.name, v.Labels, v.Spec.Template, claims})
		case *corev1.ConfigMap:
			b.configMap[v.Name] = v
		case *corev1.Secret:
			b.secrets[v.Name] = v
		}
	}
	return b
}

// checkWorkloads applies the invariants every workload must keep. prod
// adds those of a production deployment.
func checkWorkloads(t *testing.T, b *bundle, prod bool) {
	t.Helper()
	if len(b.workloads) == 0 {
		t.Fatalf("%s: no workloads; the checks would pass vacuously", b.name)
	}
	for _, w := range b.workloads {
		t.Run(w.name, func(t *testing.T) {
			if _, ok := readinessService[w.component()]; !ok {
				t.Fatalf("%s: label %s=%q is not a confed daemon", w, labelComponent, w.component())
			}
			checkPodSecurity(t, w)
			if len(w.pod.Spec.Containers) != 1 {
				t.Fatalf("%s: want exactly one container, got %d", w, len(w.pod.Spec.Containers))
			}
			c := w.pod.Spec.Containers[0]
			checkContainer(t, w, c, prod)
			cfg := loadDaemonConfig(t, b, w, c)
			checkProbes(t, w, c, cfg.healthPort)
			checkTEE(t, w, c, cfg, prod)
			if w.component() == "coordinator" {
				checkCoordinatorStorage(t, w, c, cfg)
			}
		})
	}
}

func checkPodSecurity(t *testing.T, w workload) {
	t.Helper()
	s := w.pod.Spec
	sc := s.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("%s: pod securityContext.runAsNonRoot must be true", w)
	}
	if sc == nil || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Errorf("%s: pod securityContext.runAsUser must be a non-zero numeric UID", w)
	}
	if sc == nil || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod securityContext.seccompProfile.type must be RuntimeDefault", w)
	}
	if s.HostNetwork || s.HostPID || s.HostIPC {
		t.Errorf("%s: must not share the host's network, PID or IPC namespace", w)
	}
	if s.AutomountServiceAccountToken == nil || *s.AutomountServiceAccountToken {
		t.Errorf("%s: automountServiceAccountToken must be false (confed never calls the Kubernetes API)", w)
	}
	for _, v := range s.Volumes {
		if v.HostPath != nil {
			t.Errorf("%s: volume %s is a hostPath", w, v.Name)
		}
	}
}

func checkContainer(t *testing.T, w workload, c corev1.Container, prod bool) {
	t.Helper()
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Fatalf("%s: container %s has no securityContext", w, c.Name)
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Errorf("%s: allowPrivilegeEscalation must be false", w)
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Errorf("%s: readOnlyRootFilesystem must be true", w)
	case sc.Privileged != nil && *sc.Privileged:
		t.Errorf("%s: must not be privileged", w)
	case sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0:
		t.Errorf("%s: capabilities must drop ALL and add none", w)
	}
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, hasReq := c.Resources.Requests[res]
		lim, hasLim := c.Resources.Limits[res]
		if !hasReq || !hasLim {
			t.Errorf("%s: resources must set both the request and the limit of %s", w, res)
			continue
		}
		if lim.Cmp(req) < 0 {
			t.Errorf("%s: %s limit %s is below its request %s", w, res, lim.String(), req.String())
		}
	}
	checkImage(t, w, c.Image, prod)
}

func checkImage(t *testing.T, w workload, image string, prod bool) {
	t.Helper()
	name, digest, pinned := strings.Cut(image, "@")
	tagged := strings.Contains(name[strings.LastIndex(name, "/")+1:], ":")
	if strings.HasSuffix(name, ":latest") || (!tagged && !pinned) {
		t.Errorf("%s: image %q is (implicitly) the latest tag: pin a tag or a digest", w, image)
	}
	if prod && (!pinned || !strings.HasPrefix(digest, "sha256:") || len(digest) != len("sha256:")+64) {
		t.Errorf("%s: production image %q must be pinned by digest (name@sha256:<64 hex>)", w, image)
	}
}

// checkProbes requires liveness and readiness probes on the daemon's real
// health port: the containerPort they name must be the port of
// health_listen in the daemon's configuration, and the readiness probe
// must ask for the daemon's readiness, not just liveness.
func checkProbes(t *testing.T, w workload, c corev1.Container, healthPort int) {
	t.Helper()
	if healthPort == 0 {
		t.Fatalf("%s: the daemon's configuration sets no health_listen, so probes have nothing to reach", w)
	}
	want := readinessService[w.component()]
	for _, p := range []struct {
		kind  string
		probe *corev1.Probe
		ready bool
	}{{"livenessProbe", c.LivenessProbe, false}, {"readinessProbe", c.ReadinessProbe, true}, {"startupProbe", c.StartupProbe, false}} {
		if p.probe == nil {
			if p.kind != "startupProbe" {
				t.Errorf("%s: no %s", w, p.kind)
			}
			continue
		}
		switch h := p.probe.ProbeHandler; {
		case h.GRPC != nil:
			checkProbePort(t, w, c, p.kind, intstr.FromInt32(h.GRPC.Port), healthPort)
			svc := ""
			if h.GRPC.Service != nil {
				svc = *h.GRPC.Service
			}
			if p.ready && svc != want {
				t.Errorf("%s: %s asks gRPC health for service %q, want %q (the daemon's readiness)", w, p.kind, svc, want)
			}
			if !p.ready && svc != "" {
				t.Errorf("%s: %s asks for service %q; liveness is the overall service \"\"", w, p.kind, svc)
			}
		case h.HTTPGet != nil:
			checkProbePort(t, w, c, p.kind, h.HTTPGet.Port, healthPort)
			path := map[bool]string{true: "/readyz", false: "/healthz"}[p.ready]
			if h.HTTPGet.Path != path {
				t.Errorf("%s: %s path %q, want %q", w, p.kind, h.HTTPGet.Path, path)
			}
		default:
			t.Errorf("%s: %s must be a grpc or httpGet probe of the health listener (exec is refused in confidential pods; tcpSocket proves nothing)", w, p.kind)
		}
	}
}

func checkProbePort(t *testing.T, w workload, c corev1.Container, kind string, port intstr.IntOrString, healthPort int) {
	t.Helper()
	for _, cp := range c.Ports {
		if (port.Type == intstr.String && cp.Name == port.StrVal) || (port.Type == intstr.Int && cp.ContainerPort == port.IntVal) {
			if int(cp.ContainerPort) != healthPort {
				t.Errorf("%s: %s targets port %d, but health_listen is on %d", w, kind, cp.ContainerPort, healthPort)
			}
			return
		}
	}
	t.Errorf("%s: %s targets port %s, which the container does not declare", w, kind, port.String())
}

// daemonConfig is what the checks need from a daemon's parsed config.
type daemonConfig struct {
	healthPort int
	tee        string // the aggregator's own TEE, or the TEE it is required to prove
	database   string
}

// loadDaemonConfig parses the daemon's configuration file, found through
// --config and the container's mounts, with the daemon's own parser, in a
// scratch directory laid out like the container's file system: every file
// the configuration names must be where the pod mounts it.
func loadDaemonConfig(t *testing.T, b *bundle, w workload, c corev1.Container) daemonConfig {
	t.Helper()
	i := slices.Index(c.Args, "--config")
	if i < 0 || i+1 >= len(c.Args) {
		t.Fatalf("%s: container args %q have no --config FILE", w, c.Args)
	}
	root := t.TempDir()
	layOutMounts(t, b, w, c, root)
	path := filepath.Join(root, expandPodName(t, w, c, c.Args[i+1]))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: --config %s is not in a mounted ConfigMap: %v", w, c.Args[i+1], err)
	}
	data = []byte(rebase(string(data), c, root))
	var out daemonConfig
	var listen string
	switch w.component() {
	case "aggregator", "aggregator-leaf":
		cfg, err := aggregator.Parse(path, data)
		if err != nil {
			t.Fatalf("%s: %v", w, err)
		}
		listen, out.tee = cfg.HealthListen, cfg.Attestation.Kind()
	case "coordinator":
		cfg, err := coordinator.Parse(path, data)
		if err != nil {
			t.Fatalf("%s: %v", w, err)
		}
		rc, err := roundconfig.Load(cfg.RoundConfig)
		if err != nil {
			t.Fatalf("%s: %v", w, err)
		}
		listen, out.tee, out.database = cfg.HealthListen, rc.TEE.Aggregator, cfg.Database
	case "participant":
		touchDataFile(t, path, data)
		cfg, err := participant.Parse(path, data)
		if err != nil {
			t.Fatalf("%s: %v", w, err)
		}
		listen, out.tee = cfg.HealthListen, cfg.AggregatorAttestation.Kind()
	}
	if listen != "" {
		_, port, _ := net.SplitHostPort(listen)
		out.healthPort, _ = strconv.Atoi(port)
		if host, _, _ := net.SplitHostPort(listen); host == "127.0.0.1" || host == "localhost" {
			t.Errorf("%s: health_listen %s is loopback-only; the kubelet probes the pod's address", w, listen)
		}
	}
	return out
}

// expandPodName expands $(POD_NAME) in arg as the kubelet would, when the
// container sets POD_NAME from metadata.name: for the StatefulSet's first
// pod (<name>-0), whose configuration must then exist like any other.
func expandPodName(t *testing.T, w workload, c corev1.Container, arg string) string {
	t.Helper()
	if !strings.Contains(arg, "$(POD_NAME)") {
		return arg
	}
	for _, e := range c.Env {
		if e.Name == "POD_NAME" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name" {
			if w.kind != "StatefulSet" {
				t.Fatalf("%s: $(POD_NAME) in %q names a random pod of a %s: only a StatefulSet's pod names are known", w, arg, w.kind)
			}
			return strings.ReplaceAll(arg, "$(POD_NAME)", w.name+"-0")
		}
	}
	t.Fatalf("%s: %q uses $(POD_NAME), which the container does not set from metadata.name", w, arg)
	return ""
}

// layOutMounts recreates the container's mounts under root: ConfigMap and
// Secret keys as files, other volumes as empty directories.
func layOutMounts(t *testing.T, b *bundle, w workload, c corev1.Container, root string) {
	t.Helper()
	vols := map[string]corev1.Volume{}
	for _, v := range w.pod.Spec.Volumes {
		vols[v.Name] = v
	}
	for _, m := range c.VolumeMounts {
		dir := filepath.Join(root, m.MountPath)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		v, ok := vols[m.Name]
		if !ok && !slices.Contains(w.claims, m.Name) {
			t.Fatalf("%s: volumeMount %s names no volume", w, m.Name)
		}
		var files map[string]string
		switch {
		case v.ConfigMap != nil:
			cm, ok := b.configMap[v.ConfigMap.Name]
			if !ok {
				t.Fatalf("%s: volume %s: ConfigMap %s is not in the build", w, m.Name, v.ConfigMap.Name)
			}
			files = cm.Data
		case v.Secret != nil:
			s, ok := b.secrets[v.Secret.SecretName]
			if !ok {
				t.Fatalf("%s: volume %s: Secret %s has no template (deploy/kubernetes/secrets or the chart)", w, m.Name, v.Secret.SecretName)
			}
			files = secretStrings(s)
		}
		for k, content := range files {
			if err := os.WriteFile(filepath.Join(dir, k), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// rebase rewrites the container's absolute mount paths in a configuration
// to the scratch directory.
func rebase(cfg string, c corev1.Container, root string) string {
	mounts := make([]string, 0, len(c.VolumeMounts))
	for _, m := range c.VolumeMounts {
		mounts = append(mounts, m.MountPath)
	}
	// Longest first, so /etc/confed/tls wins over /etc/confed.
	slices.SortFunc(mounts, func(a, b string) int { return len(b) - len(a) })
	var out []string
	for _, line := range strings.Split(cfg, "\n") {
		for _, m := range mounts {
			if i := strings.Index(line, " "+m+"/"); i >= 0 {
				line = line[:i+1] + root + line[i+1:]
				break
			}
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// touchDataFile creates the participant's data file, which the institution
// provides on its data volume.
func touchDataFile(t *testing.T, file string, data []byte) {
	t.Helper()
	var c participant.Config
	if _, err := yamlcfg.Decode(file, data, &c); err != nil {
		t.Fatal(err)
	}
	if c.Data.Path != "" {
		if err := os.WriteFile(c.Data.Path, nil, 0o644); err != nil {
			t.Fatalf("data.path %s is not on a mounted volume: %v", c.Data.Path, err)
		}
	}
}

func secretStrings(s *corev1.Secret) map[string]string {
	out := map[string]string{}
	for k, v := range s.StringData {
		out[k] = v
	}
	for k, v := range s.Data {
		out[k] = string(v)
	}
	return out
}

// checkTEE ties the insecure flag, its label and the configured TEE
// together, and requires the confidential runtime for a production
// aggregator.
func checkTEE(t *testing.T, w workload, c corev1.Container, cfg daemonConfig, prod bool) {
	t.Helper()
	insecure := slices.Contains(c.Args, flagInsecure)
	labelled := w.labels[labelInsecure] == "true" && w.pod.Labels[labelInsecure] == "true"
	simulated := cfg.tee == "simulated"
	switch {
	case insecure && prod:
		t.Errorf("%s: production workload started with %s", w, flagInsecure)
	case insecure && !labelled:
		t.Errorf("%s: started with %s but not labelled %s: \"true\" (on the workload and its pods)", w, flagInsecure, labelInsecure)
	case simulated && !insecure && w.component() != "participant":
		t.Errorf("%s: configured for the simulated TEE but not started with %s: the daemon would refuse to start", w, flagInsecure)
	case simulated && prod:
		t.Errorf("%s: production configuration uses the simulated TEE", w)
	}
	if strings.HasPrefix(w.component(), "aggregator") && prod {
		rc := w.pod.Spec.RuntimeClassName
		if rc == nil || *rc != kataCC {
			t.Errorf("%s: production aggregator must set runtimeClassName: %s", w, kataCC)
		}
	}
}

// checkCoordinatorStorage requires the bbolt file on a volume claim of the
// StatefulSet, so that it outlives the pod.
func checkCoordinatorStorage(t *testing.T, w workload, c corev1.Container, cfg daemonConfig) {
	t.Helper()
	if w.kind != "StatefulSet" {
		t.Errorf("%s: the coordinator must be a StatefulSet", w)
	}
	for _, m := range c.VolumeMounts {
		if slices.Contains(w.claims, m.Name) && strings.Contains(cfg.database, filepath.Clean(m.MountPath)+"/") {
			return
		}
	}
	t.Errorf("%s: database %s is not on one of the volume claims %v", w, cfg.database, w.claims)
}
