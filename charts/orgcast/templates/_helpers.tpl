{{/* Names */}}
{{- define "orgcast.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "orgcast.fullname" -}}
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

{{/* The headless Service: pod discovery (EndpointSlices) and Prometheus scraping. */}}
{{- define "orgcast.headlessName" -}}
{{- printf "%s-headless" (include "orgcast.fullname" . | trunc 54 | trimSuffix "-") -}}
{{- end -}}

{{- define "orgcast.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "orgcast.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "orgcast.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "orgcast.selectorLabels" -}}
app.kubernetes.io/name: {{ include "orgcast.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "orgcast.labels" -}}
helm.sh/chart: {{ include "orgcast.chart" . }}
{{ include "orgcast.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: gateway
app.kubernetes.io/part-of: orgcast
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "orgcast.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
An environment value as the gateway parses it: whole numbers without exponent (YAML numbers
arrive as float64, and 1000000 would print as 1e+06), lists comma-separated.
*/}}
{{- define "orgcast.envValue" -}}
{{- if kindIs "float64" . -}}
{{- if eq (float64 (int64 .)) . }}{{ int64 . }}{{ else }}{{ . }}{{ end -}}
{{- else if kindIs "slice" . -}}
{{- join "," . -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end -}}

{{/*
Drain timing. The fallbacks are the gateway's own defaults (gateway/src/config/schema.ts), used
when config leaves the variable unset; charts/test checks that they match.
*/}}
{{- define "orgcast.shutdownTimeoutMs" -}}
{{- $v := .Values.config.SHUTDOWN_TIMEOUT_MS -}}
{{- if kindIs "invalid" $v }}25000{{ else }}{{ int64 $v }}{{ end -}}
{{- end -}}

{{- define "orgcast.drainWindowMs" -}}
{{- $v := .Values.config.DRAIN_WINDOW_MS -}}
{{- if kindIs "invalid" $v }}10000{{ else }}{{ int64 $v }}{{ end -}}
{{- end -}}

{{- define "orgcast.maxConnections" -}}
{{- $v := .Values.config.MAX_CONNECTIONS -}}
{{- if kindIs "invalid" $v }}100000{{ else }}{{ int64 $v }}{{ end -}}
{{- end -}}

{{/* Smallest grace period that lets the preStop sleep and the whole shutdown finish. */}}
{{- define "orgcast.minimumGracePeriodSeconds" -}}
{{- $shutdownSeconds := div (add (include "orgcast.shutdownTimeoutMs" . | int64) 999) 1000 -}}
{{- add .Values.lifecycle.preStopSleepSeconds $shutdownSeconds -}}
{{- end -}}

{{- define "orgcast.terminationGracePeriodSeconds" -}}
{{- $minimum := include "orgcast.minimumGracePeriodSeconds" . | int64 -}}
{{- if kindIs "invalid" .Values.lifecycle.terminationGracePeriodSeconds -}}
{{- add $minimum .Values.lifecycle.terminationMarginSeconds -}}
{{- else -}}
{{- .Values.lifecycle.terminationGracePeriodSeconds | int64 -}}
{{- end -}}
{{- end -}}

{{/* nginx variable holding the stickiness key: $http_x_key, $cookie_name or $arg_name. */}}
{{- define "orgcast.nginxHashBy" -}}
{{- $s := .Values.stickiness -}}
{{- if eq $s.type "Header" -}}
{{- printf "$http_%s" ($s.name | lower | replace "-" "_") -}}
{{- else if eq $s.type "Cookie" -}}
{{- printf "$cookie_%s" $s.name -}}
{{- else -}}
{{- printf "$arg_%s" $s.name -}}
{{- end -}}
{{- end -}}

{{/* PromQL matchers selecting this release's series (see metrics.prometheusRule.selector). */}}
{{- define "orgcast.promSelector" -}}
{{- if .Values.metrics.prometheusRule.selector -}}
{{- .Values.metrics.prometheusRule.selector -}}
{{- else -}}
{{- printf "job=%q,namespace=%q" (include "orgcast.headlessName" .) .Release.Namespace -}}
{{- end -}}
{{- end -}}

{{/*
Cross-field checks that values.schema.json cannot express. Each failure names the values to change.
*/}}
{{- define "orgcast.validate" -}}
{{- $errors := list -}}
{{- if and .Values.autoscaling.enabled .Values.keda.enabled -}}
{{- $errors = append $errors "keda.enabled=true replaces the chart's HorizontalPodAutoscaler: set autoscaling.enabled=false (KEDA creates its own HPA)" -}}
{{- end -}}
{{- if eq (int .Values.ports.http) (int .Values.ports.management) -}}
{{- $errors = append $errors (printf "ports.http and ports.management must differ (both %v)" .Values.ports.http) -}}
{{- end -}}
{{- $shutdown := include "orgcast.shutdownTimeoutMs" . | int64 -}}
{{- $drain := include "orgcast.drainWindowMs" . | int64 -}}
{{- if gt (add $drain 1000) $shutdown -}}
{{- $errors = append $errors (printf "config.DRAIN_WINDOW_MS (%d) must leave at least 1000 ms of config.SHUTDOWN_TIMEOUT_MS (%d)" $drain $shutdown) -}}
{{- end -}}
{{- if not (kindIs "invalid" .Values.lifecycle.terminationGracePeriodSeconds) -}}
{{- $minimum := include "orgcast.minimumGracePeriodSeconds" . | int64 -}}
{{- if lt (int64 .Values.lifecycle.terminationGracePeriodSeconds) (add $minimum 1) -}}
{{- $errors = append $errors (printf "lifecycle.terminationGracePeriodSeconds (%v) must exceed lifecycle.preStopSleepSeconds + config.SHUTDOWN_TIMEOUT_MS/1000 = %d, or the kubelet kills pods mid-drain" .Values.lifecycle.terminationGracePeriodSeconds $minimum) -}}
{{- end -}}
{{- end -}}
{{- if and (or .Values.autoscaling.enabled .Values.keda.enabled) .Values.autoscaling.connections.enabled -}}
{{- $max := include "orgcast.maxConnections" . | int64 -}}
{{- if ge (int64 .Values.autoscaling.connections.targetAveragePerPod) $max -}}
{{- $errors = append $errors (printf "autoscaling.connections.targetAveragePerPod (%v) must be below config.MAX_CONNECTIONS (%d)" .Values.autoscaling.connections.targetAveragePerPod $max) -}}
{{- end -}}
{{- end -}}
{{- if and (or .Values.autoscaling.enabled .Values.keda.enabled) (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- $errors = append $errors (printf "autoscaling.minReplicas (%v) must not exceed autoscaling.maxReplicas (%v)" .Values.autoscaling.minReplicas .Values.autoscaling.maxReplicas) -}}
{{- end -}}
{{- if and .Values.gatewayApi.enabled (empty .Values.gatewayApi.parentRefs) (not .Values.gatewayApi.gateway.create) -}}
{{- $errors = append $errors "gatewayApi.enabled=true needs gatewayApi.parentRefs, the Gateway the HTTPRoute attaches to (e.g. --set 'gatewayApi.parentRefs[0].name=public-gateway' --set 'gatewayApi.parentRefs[0].sectionName=https'), or gatewayApi.gateway.create=true" -}}
{{- end -}}
{{- if and .Values.envoyGateway.clientTrafficPolicy.enabled (not .Values.gatewayApi.gateway.create) -}}
{{- $errors = append $errors "envoyGateway.clientTrafficPolicy.enabled needs gatewayApi.gateway.create=true (it attaches to the chart's Gateway)" -}}
{{- end -}}
{{- if and (or .Values.kubernetesDiscovery.enabled .Values.kubernetesDiscovery.podDeletionCost) (not .Values.serviceAccount.automountServiceAccountToken) -}}
{{- $errors = append $errors "kubernetesDiscovery.enabled and kubernetesDiscovery.podDeletionCost call the Kubernetes API: keep serviceAccount.automountServiceAccountToken=true or turn both off" -}}
{{- end -}}
{{- $secretKeys := list -}}
{{- range $env, $key := .Values.secret.keys -}}{{- if $key -}}{{- $secretKeys = append $secretKeys $env -}}{{- end -}}{{- end -}}
{{- if and $secretKeys (not .Values.secret.name) -}}
{{- $errors = append $errors (printf "secret.name is empty but secret.keys maps %s: name the existing Secret" (join ", " $secretKeys)) -}}
{{- end -}}
{{- if $errors -}}
{{- fail (printf "\ninvalid values for the orgcast chart:\n  - %s" (join "\n  - " $errors)) -}}
{{- end -}}
{{- end -}}
