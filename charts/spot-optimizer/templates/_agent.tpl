{{/* The agent container, shared by its Deployment and its DaemonSet: (dict "ctx" $ "mode" "cluster"|"spot-notices"). */}}
{{- define "so.agentContainer" -}}
{{- $v := .ctx.Values -}}
- name: agent
  image: {{ include "so.image" .ctx }}
  imagePullPolicy: {{ $v.image.pullPolicy }}
  args: ["agent"]
  env:
    - name: SPOTOPT_AGENT_CLUSTER_ID
      value: {{ required "agent.clusterId is required" $v.agent.clusterId | quote }}
    - name: SPOTOPT_AGENT_ENDPOINT
      value: {{ include "so.agentEndpoint" .ctx | quote }}
    - name: SPOTOPT_AGENT_TOKEN
      valueFrom:
        secretKeyRef:
          name: {{ include "so.agentTokenSecretName" .ctx }}
          key: {{ if $v.agent.existingTokenSecret.name }}{{ $v.agent.existingTokenSecret.key }}{{ else }}token{{ end }}
    # cluster: heartbeats and actions; spot-notices: this node's EC2 instance-metadata interruption notices.
    - name: SPOTOPT_AGENT_MODE
      value: {{ .mode }}
    - name: NODE_NAME
      valueFrom:
        fieldRef:
          fieldPath: spec.nodeName
    - name: POD_NAME
      valueFrom:
        fieldRef:
          fieldPath: metadata.name
    - name: SPOTOPT_HEALTH_PORT
      value: {{ $v.agent.healthPort | quote }}
    - name: LOG_LEVEL
      value: {{ $v.logLevel | quote }}
    - name: NODE_ENV
      value: production
    {{- with $v.agent.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  ports:
    - name: health
      containerPort: {{ $v.agent.healthPort }}
      protocol: TCP
  {{- include "so.probes" "health" | nindent 2 }}
  resources:
    {{- toYaml (ternary $v.agent.daemonset.resources $v.agent.resources (eq .mode "spot-notices")) | nindent 4 }}
  securityContext:
    {{- toYaml $v.containerSecurityContext | nindent 4 }}
  {{- include "so.tmpMount" . | nindent 2 }}
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
