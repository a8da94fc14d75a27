{{/*
The chart uses only Go template built-ins and these Helm functions: include,
toYaml, nindent, indent, quote, required, fail, default. deploy/check renders
it with exactly that set (helm's engine pulls in client-go), so a template
using anything else fails `make deploy-check`.
*/}}

{{- define "confed.labels" -}}
app.kubernetes.io/name: confed
app.kubernetes.io/part-of: confed
app.kubernetes.io/instance: {{ .Release.Name }}
{{- if .Values.insecureSimulatedTEE }}
confed.io/insecure-simulated-tee: "true"
{{- end }}
{{- end }}

{{- define "confed.selector" -}}
app.kubernetes.io/name: confed
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "confed.image" -}}
{{- if .digest }}{{ .repository }}@{{ .digest }}{{ else }}{{ .repository }}:{{ required "an image needs a digest or a tag" .tag }}{{ end }}
{{- end }}

{{- define "confed.check" -}}
{{- $tee := required "attestation.tee is required" .Values.attestation.tee -}}
{{- if and .Values.insecureSimulatedTEE (ne $tee "simulated") -}}
{{- fail "insecureSimulatedTEE: true needs attestation.tee: simulated" -}}
{{- end -}}
{{- if and (eq $tee "simulated") (not .Values.insecureSimulatedTEE) -}}
{{- fail "attestation.tee: simulated is INSECURE: set insecureSimulatedTEE: true to accept it" -}}
{{- end -}}
{{- if and (not .Values.insecureSimulatedTEE) (ne .Values.runtimeClassName "kata-cc") -}}
{{- fail "the aggregator must run with runtimeClassName: kata-cc (or set insecureSimulatedTEE for a dev cluster)" -}}
{{- end -}}
{{- end }}

{{- define "confed.podSecurity" -}}
automountServiceAccountToken: false
enableServiceLinks: false
securityContext:
  runAsNonRoot: true
  runAsUser: 65532
  runAsGroup: 65532
  fsGroup: 65532
  seccompProfile:
    type: RuntimeDefault
{{- end }}

{{- define "confed.containerSecurity" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  privileged: false
  capabilities:
    drop: ["ALL"]
{{- end }}

{{- define "confed.tls" -}}
tls:
  cert: /etc/confed/tls/tls.crt
  key: /etc/confed/tls/tls.key
  ca: /etc/confed/tls/ca.crt
{{- end }}
