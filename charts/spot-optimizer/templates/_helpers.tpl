{{/* Names, labels and shared pod settings of the spot-optimizer chart. */}}

{{- define "so.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "so.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else if contains (include "so.name" .) .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "so.name" .) | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "so.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "so.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: spot-optimizer
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component: (dict "ctx" $ "component" "operator"). */}}
{{- define "so.selectorLabels" -}}
app.kubernetes.io/name: {{ include "so.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "so.componentLabels" -}}
{{ include "so.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "so.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* ServiceAccount name of a component: (dict "ctx" $ "component" "operator"). */}}
{{- define "so.serviceAccountName" -}}
{{- $values := index .ctx.Values .component -}}
{{- if $values.serviceAccount.create -}}
{{- default (printf "%s-%s" (include "so.fullname" .ctx) .component) $values.serviceAccount.name -}}
{{- else -}}
{{- required (printf "%s.serviceAccount.name is required when %s.serviceAccount.create is false" .component .component) $values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "so.operatorEnabled" -}}
{{- if and (eq .Values.mode "full") .Values.operator.enabled }}true{{ end -}}
{{- end -}}

{{- define "so.facadeEnabled" -}}
{{- if and (eq .Values.mode "full") .Values.facade.enabled }}true{{ end -}}
{{- end -}}

{{/* The agent needs its token: in agent mode always, in full mode once one is configured. */}}
{{- define "so.agentEnabled" -}}
{{- if .Values.agent.enabled -}}
{{- if eq .Values.mode "agent" -}}true
{{- else if or .Values.agent.token .Values.agent.existingTokenSecret.name -}}true
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "so.agentTokenSecretName" -}}
{{- default (printf "%s-agent-token" (include "so.fullname" .)) .Values.agent.existingTokenSecret.name -}}
{{- end -}}

{{- define "so.jwtKeySecretName" -}}
{{- default (printf "%s-facade-jwt-key" (include "so.fullname" .)) .Values.facade.jwtKey.existingSecret -}}
{{- end -}}

{{- define "so.facadeUrl" -}}
{{- printf "http://%s-facade.%s.svc:%v" (include "so.fullname" .) .Release.Namespace .Values.facade.service.port -}}
{{- end -}}

{{/* Pod-level settings shared by every workload: (dict "ctx" $ "values" .Values.operator). */}}
{{- define "so.podSpecCommon" -}}
{{- with .ctx.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .ctx.Values.podSecurityContext | nindent 2 }}
{{- with .values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* tsx compiles TypeScript into a cache under /tmp: the only writable path with a read-only root filesystem. */}}
{{- define "so.tmpVolume" -}}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: 256Mi
{{- end -}}

{{- define "so.tmpMount" -}}
volumeMounts:
  - name: tmp
    mountPath: /tmp
{{- end -}}

{{/* Liveness and readiness probes on a named port. */}}
{{- define "so.probes" -}}
livenessProbe:
  httpGet:
    path: /healthz
    port: {{ . }}
  initialDelaySeconds: 10
  periodSeconds: 10
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /readyz
    port: {{ . }}
  periodSeconds: 5
  failureThreshold: 3
startupProbe:
  httpGet:
    path: /healthz
    port: {{ . }}
  periodSeconds: 2
  failureThreshold: 60
{{- end -}}

{{/* facade.planNodeLimits as SPOTOPT_PLAN_NODE_LIMITS: plan=nodes pairs in name order. */}}
{{- define "so.planNodeLimits" -}}
{{- $pairs := list -}}
{{- range $plan, $nodes := . -}}
{{- $pairs = append $pairs (printf "%s=%d" $plan (int $nodes)) -}}
{{- end -}}
{{- join "," $pairs -}}
{{- end -}}

{{/*
A component's PodDisruptionBudget spec, or nothing with a single replica: a budget that allows no eviction blocks
every node drain (kubectl drain, Karpenter's consolidation). A whole-number minAvailable of at least the replicas, or
100%, does the same, so it is refused. Args: dict "name" (values key) "values" (the component's values).
*/}}
{{- define "so.pdbSpec" -}}
{{- $v := .values -}}
{{- $min := $v.podDisruptionBudget.minAvailable -}}
{{- if and (gt (int $v.replicas) 1) (or (eq (toString $min) "100%") (and (not (kindIs "string" $min)) (ge (int $min) (int $v.replicas)))) -}}
{{- fail (printf "%s.podDisruptionBudget.minAvailable (%v) must be below %s.replicas (%d): a budget that allows no eviction blocks every node drain" .name $min .name (int $v.replicas)) -}}
{{- end -}}
{{- if gt (int $v.replicas) 1 -}}
minAvailable: {{ $min }}
{{- end -}}
{{- end -}}
