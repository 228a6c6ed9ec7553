{{- define "ps.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ps.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Name of one role's objects: <fullname>-<role>, at most 52 characters so that every kind and its
suffixes (-metrics, -admin) fit in 63. The fullname is cut, never the role: cutting the whole name
gave every role of a release named with 51 characters or more the same name.
*/}}
{{- define "ps.roleName" -}}
{{- $base := include "ps.fullname" .root | trunc (int (sub 51 (len .role))) | trimSuffix "-" -}}
{{- printf "%s-%s" $base .role -}}
{{- end -}}

{{- define "ps.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "ps.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "ps.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ps.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .role }}
{{- end -}}

{{- define "ps.secretName" -}}
{{- default (include "ps.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "ps.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
The BullMQ queues a role consumes: its KEDA triggers read their wait lists. The capture app has
none (it produces into ingest) and scales on CPU. With config.SCHEDULER_SHARDS above 1 the
scheduler's chains are in scheduled-0 … scheduled-<n-1> instead of scheduled.
*/}}
{{- define "ps.roleQueues" -}}
{{- $shards := int (default "1" (get .root.Values.config "SCHEDULER_SHARDS")) -}}
{{- $scheduled := list "scheduled" -}}
{{- if gt $shards 1 -}}
{{- $scheduled = list -}}
{{- range $i := until $shards -}}
{{- $scheduled = append $scheduled (printf "scheduled-%d" $i) -}}
{{- end -}}
{{- end -}}
{{- $queues := dict "ingest-worker" (list "ingest") "exporter" (list "export" "export-deliveries") "job-worker" (list "jobs") "scheduler" $scheduled -}}
{{- get $queues .role | default list | toJson -}}
{{- end -}}

{{/* SHUTDOWN_GRACE_MS for a role: inside the pod's grace period, so the process exits before SIGKILL. */}}
{{- define "ps.shutdownGraceMs" -}}
{{- $grace := int .spec.terminationGracePeriodSeconds -}}
{{- $margin := int .root.Values.shutdownMarginSeconds -}}
{{- if le $grace $margin -}}
{{- fail (printf "roles.%s.terminationGracePeriodSeconds (%d) must be greater than shutdownMarginSeconds (%d)" .role $grace $margin) -}}
{{- end -}}
{{- /* The role's own env wins over config:, as in its pods. */ -}}
{{- $roleTimeout := get (.spec.env | default dict) "PLUGIN_TIMEOUT_MS" -}}
{{- $timeoutFrom := ternary (printf "roles.%s.env.PLUGIN_TIMEOUT_MS" .role) "config.PLUGIN_TIMEOUT_MS" (not (empty $roleTimeout)) -}}
{{- $timeout := int (default "30000" (default (get .root.Values.config "PLUGIN_TIMEOUT_MS") $roleTimeout)) -}}
{{- if and (ne .role "capture") (le (mul (sub $grace $margin) 1000) $timeout) -}}
{{- fail (printf "roles.%s.terminationGracePeriodSeconds (%d) minus shutdownMarginSeconds (%d) must be longer than %s (%d ms), the longest a plugin call may run" .role $grace $margin $timeoutFrom $timeout) -}}
{{- end -}}
{{- /* Capture keeps serving for CAPTURE_SHUTDOWN_DELAY_MS after SIGTERM (endpoints drop the pod meanwhile), inside SHUTDOWN_GRACE_MS. */ -}}
{{- $roleDelay := get (.spec.env | default dict) "CAPTURE_SHUTDOWN_DELAY_MS" -}}
{{- $delayFrom := ternary "roles.capture.env.CAPTURE_SHUTDOWN_DELAY_MS" "config.CAPTURE_SHUTDOWN_DELAY_MS" (not (empty $roleDelay)) -}}
{{- $delay := int (default "5000" (default (get .root.Values.config "CAPTURE_SHUTDOWN_DELAY_MS") $roleDelay)) -}}
{{- if and (eq .role "capture") (le (mul (sub $grace $margin) 1000) $delay) -}}
{{- fail (printf "roles.capture.terminationGracePeriodSeconds (%d) minus shutdownMarginSeconds (%d) must be longer than %s (%d ms), the time capture keeps serving after SIGTERM before it drains" $grace $margin $delayFrom $delay) -}}
{{- end -}}
{{- mul (sub $grace $margin) 1000 -}}
{{- end -}}

{{/*
Every secret-bearing variable, the one list the chart keeps: each comes from the Secret (the chart's,
or secrets.existingSecret), never from the ConfigMap or a plain env value. `value` is its key under
`secrets:`; a variable of this list given under `config:` instead goes to the Secret too. `roles`:
the roles whose pods get it (all, capture, or none: read by KEDA only). Add new ones here.
*/}}
{{- define "ps.secretVariables" -}}
DATABASE_URL: { value: databaseUrl, roles: all, required: true }
REDIS_URL: { value: redisUrl, roles: all, required: true }
ADMIN_API_TOKEN: { value: adminApiToken, roles: capture, required: false }
PLUGIN_SECRETS_KEYS: { value: pluginSecretsKeys, roles: all, required: false }
POSTHOG_PERSONAL_API_KEY: { value: posthogPersonalApiKey, roles: all, required: false }
REDIS_PASSWORD: { value: redisPassword, roles: none, required: false }
{{- end -}}

{{/* The value of one secret variable: from `secrets:`, else from `config:`. */}}
{{- define "ps.secretValue" -}}
{{- $fromSecrets := get .root.Values.secrets .spec.value | default "" -}}
{{- $fromConfig := get .root.Values.config .name | default "" -}}
{{- if and $fromSecrets $fromConfig -}}
{{- fail (printf "%s is set twice: as secrets.%s and as config.%s; keep one" .name .spec.value .name) -}}
{{- end -}}
{{- default $fromConfig $fromSecrets | toString -}}
{{- end -}}

{{/* The role's scheduling: its own nodeSelector, tolerations and affinity, else the chart-wide ones. */}}
{{- define "ps.scheduling" -}}
{{- with (.spec.nodeSelector | default .root.Values.nodeSelector) }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (.spec.tolerations | default .root.Values.tolerations) }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (.spec.affinity | default .root.Values.affinity) }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "ps.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ps.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}
