{{/* The agent container, shared by its Deployment and its DaemonSet: (dict "ctx" $ "mode" "deployment"|"daemonset"). */}}
{{- define "so.agentContainer" -}}
{{- $v := .ctx.Values -}}
{{- /* the DaemonSet's pods share their node's network (IMDSv2 answers one hop only): a port of their own there */ -}}
{{- $port := ternary ($v.agent.daemonset.healthPort | default 8091) $v.agent.healthPort (eq .mode "daemonset") -}}
- name: agent
  image: {{ include "so.image" .ctx }}
  imagePullPolicy: {{ $v.image.pullPolicy }}
  # The bundle `npm run build:agent` writes in the image, with a small V8 young generation (idle RSS) and a heap cap
  # that a big cluster's report fits in (its pods are listed every beat), below the container's memory limit.
  {{- /* defaults here too: `helm upgrade --reuse-values` from a release made before these values keeps none */}}
  {{- $heap := ternary ($v.agent.daemonset.maxHeapMiB | default 64) ($v.agent.maxHeapMiB | default 256) (eq .mode "daemonset") }}
  command: ["node", "--max-semi-space-size=1", "--max-old-space-size={{ int $heap }}", "/app/dist/agent.mjs"]
  env:
    - name: SPOTOPT_CLUSTER_ID
      value: {{ required "agent.clusterId is required" $v.agent.clusterId | quote }}
    - name: SPOTOPT_FACADE_URL
      value: {{ include "so.agentEndpoint" .ctx | quote }}
    {{- if eq .mode "deployment" }}
    # The token is a mounted Secret file, re-read after a 401 so a rotated Secret is picked up.
    - name: SPOTOPT_AGENT_TOKEN_FILE
      value: /var/run/secrets/spot-optimizer/agent-token
    {{- end }}
    # deployment: heartbeats and actions; daemonset: only this node's EC2 instance-metadata interruption notice, which
    # taints the node for the Deployment's agent to drain and report (no facade token, no actions).
    - name: SPOTOPT_AGENT_MODE
      value: {{ .mode }}
    - name: SPOTOPT_NODE_NAME
      valueFrom:
        fieldRef:
          fieldPath: spec.nodeName
    # Its own namespace: never reported for hibernation, never the target of an action.
    - name: SPOTOPT_AGENT_NAMESPACE
      valueFrom:
        fieldRef:
          fieldPath: metadata.namespace
    - name: SPOTOPT_AGENT_PORT
      value: {{ $port | quote }}
    - name: LOG_LEVEL
      value: {{ $v.logLevel | quote }}
    - name: NODE_ENV
      value: production
    {{- with $v.agent.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  ports:
    - name: health
      containerPort: {{ $port }}
      protocol: TCP
  {{- include "so.probes" "health" | nindent 2 }}
  resources:
    {{- toYaml (ternary $v.agent.daemonset.resources $v.agent.resources (eq .mode "daemonset")) | nindent 4 }}
  securityContext:
    {{- toYaml $v.containerSecurityContext | nindent 4 }}
  volumeMounts:
    - name: tmp
      mountPath: /tmp
    {{- if eq .mode "deployment" }}
    - name: agent-token
      mountPath: /var/run/secrets/spot-optimizer
      readOnly: true
    {{- end }}
{{- end -}}

{{- define "so.agentVolumes" -}}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: 256Mi
{{- if eq .mode "deployment" }}
  - name: agent-token
    secret:
      secretName: {{ include "so.agentTokenSecretName" .ctx }}
      items:
        - key: {{ if .ctx.Values.agent.existingTokenSecret.name }}{{ .ctx.Values.agent.existingTokenSecret.key }}{{ else }}token{{ end }}
          path: agent-token
{{- end }}
{{- end -}}

{{- define "so.agentEndpoint" -}}
{{- if .Values.agent.endpoint -}}
{{- .Values.agent.endpoint -}}
{{- else if eq .Values.mode "full" -}}
{{- include "so.facadeUrl" . -}}
{{- else -}}
{{- fail "agent.endpoint is required in agent mode (the facade's URL)" -}}
{{- end -}}
{{- end -}}
