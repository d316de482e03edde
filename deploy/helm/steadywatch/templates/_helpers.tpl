{{/* The chart's name. */}}
{{- define "steadywatch.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The full name: the release's when it holds the chart's name. */}}
{{- define "steadywatch.fullname" -}}
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

{{/* Selector labels: also those of steadywatch generate kubernetes. */}}
{{- define "steadywatch.selectorLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/name: {{ include "steadywatch.name" . }}
{{- end -}}

{{- define "steadywatch.labels" -}}
{{ include "steadywatch.selectorLabels" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "steadywatch.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "steadywatch.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "steadywatch.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/* Whether the store is PostgreSQL (from a Secret) rather than SQLite. */}}
{{- define "steadywatch.postgres" -}}
{{- if .Values.store.postgres.existingSecret }}true{{ end -}}
{{- end -}}

{{/* Whether the hypotheses are mounted. */}}
{{- define "steadywatch.hypotheses" -}}
{{- if or .Values.hypotheses.existingConfigMap .Values.hypotheses.inline }}true{{ end -}}
{{- end -}}

{{/* The namespaces the chart passes as --namespace. */}}
{{- define "steadywatch.watchNamespaces" -}}
{{- if .Values.watchNamespaces -}}
{{- toJson .Values.watchNamespaces -}}
{{- else if .Values.rbac.namespaced -}}
{{- toJson (list .Release.Namespace) -}}
{{- else -}}
[]
{{- end -}}
{{- end -}}

{{/*
Checks of the values that the schema cannot express; each failure names the
value and what to do.
*/}}
{{- define "steadywatch.validate" -}}
{{- if and (gt (int .Values.replicas) 1) (not .Values.store.postgres.existingSecret) -}}
{{- fail (printf "replicas is %d but store.postgres.existingSecret is empty: more than one replica needs a PostgreSQL store, since SQLite has one writer; create a Secret holding a postgres:// URL at key %q and set store.postgres.existingSecret to its name" (int .Values.replicas) .Values.store.postgres.key) -}}
{{- end -}}
{{- if lt (int .Values.replicas) 1 -}}
{{- fail (printf "replicas is %d: want 1 or more" (int .Values.replicas)) -}}
{{- end -}}
{{- if and (not .Values.config.existingConfigMap) (not .Values.config.inline) -}}
{{- fail "config: set config.inline (the configuration file's text) or config.existingConfigMap" -}}
{{- end -}}
{{- if and .Values.hypotheses.existingConfigMap .Values.hypotheses.inline -}}
{{- fail "hypotheses: set hypotheses.inline or hypotheses.existingConfigMap, not both" -}}
{{- end -}}
{{- if not (has .Values.web.scheme (list "HTTP" "HTTPS")) -}}
{{- fail (printf "web.scheme is %q: want HTTP or HTTPS" .Values.web.scheme) -}}
{{- end -}}
{{- if or (lt (int .Values.port) 1) (gt (int .Values.port) 65535) -}}
{{- fail (printf "port %d is not a TCP port" (int .Values.port)) -}}
{{- end -}}
{{- end -}}

{{/* The configuration file of config.inline, with the value cluster as its
first line unless it names that cluster already: what steadywatch generate
kubernetes --cluster writes. */}}
{{- define "steadywatch.config" -}}
{{- $inline := .Values.config.inline -}}
{{- $cluster := toString (.Values.cluster | default "") -}}
{{- if $cluster -}}
{{- if or (gt (len $cluster) 63) (not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" $cluster)) -}}
{{- fail (printf "cluster: %q is not a valid cluster name: at most 63 of a-z, 0-9 and '-', starting and ending with a letter or digit" $cluster) -}}
{{- end -}}
{{- $named := toString ((fromYaml $inline).cluster | default "") -}}
{{- if and $named (ne $named $cluster) -}}
{{- fail (printf "cluster %q: config.inline names cluster %q" $cluster $named) -}}
{{- end -}}
{{- if not $named -}}
{{- $inline = printf "cluster: %s\n%s" $cluster $inline -}}
{{- end -}}
{{- end -}}
{{- $inline -}}
{{- end -}}
