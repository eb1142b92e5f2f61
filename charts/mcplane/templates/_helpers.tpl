{{/* Name used in the app.kubernetes.io/name label. */}}
{{- define "mcplane.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Name of the namespaced objects: the release name, so `helm install agentgateway charts/mcplane` gives
Deployment `agentgateway` and `kubectl port-forward deployment/agentgateway 8080:8080` works.
*/}}
{{- define "mcplane.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Cluster-scoped RBAC names carry the namespace: two releases of the same name must not collide. */}}
{{- define "mcplane.clusterRoleName" -}}
{{- printf "%s-%s" (include "mcplane.fullname" .) .Release.Namespace -}}
{{- end -}}

{{- define "mcplane.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mcplane.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels of every object, without app.kubernetes.io/component (mcplane.labels adds "gateway"). */}}
{{- define "mcplane.commonLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "mcplane.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: mcplane
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "mcplane.labels" -}}
{{ include "mcplane.commonLabels" . }}
app.kubernetes.io/component: gateway
{{- end -}}

{{- define "mcplane.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "mcplane.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "mcplane.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "mcplane.leaseName" -}}
{{- default (printf "%s-status-writer" (include "mcplane.fullname" .)) .Values.leaderElection.leaseName -}}
{{- end -}}

{{/* Peers exchange deleted sessions only with a shared session key (they authenticate with it). */}}
{{- define "mcplane.peerService" -}}
{{- if and .Values.peers.enabled .Values.sessionKey.enabled -}}
{{- printf "%s-peers" (include "mcplane.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "mcplane.sessionKeySecretName" -}}
{{- default (printf "%s-session-key" (include "mcplane.fullname" .)) .Values.sessionKey.existingSecret -}}
{{- end -}}

{{/* --gateway-address: the value, else the listener Service's DNS name where that is how clients reach it. */}}
{{- define "mcplane.gatewayAddress" -}}
{{- if .Values.gatewayAddress -}}
{{- .Values.gatewayAddress -}}
{{- else if ne .Values.service.type "LoadBalancer" -}}
{{- printf "%s.%s.svc.%s" (include "mcplane.fullname" .) .Release.Namespace .Values.clusterDomain -}}
{{- end -}}
{{- end -}}

{{/* Seconds the kubelet waits before SIGKILL: the preStop sleep, then the drain, then a margin. */}}
{{- define "mcplane.terminationGracePeriodSeconds" -}}
{{- add .Values.preStopSleepSeconds .Values.drainTimeout .Values.terminationGraceMarginSeconds -}}
{{- end -}}

{{/* Checks JSON Schema cannot express: they fail the install with a message naming the values. */}}
{{- define "mcplane.validate" -}}
{{- range .Values.listeners -}}
{{- if eq (int .) (int $.Values.adminPort) -}}
{{- fail (printf "adminPort %d is also in listeners: the admin server and a Gateway listener cannot share a port" (int $.Values.adminPort)) -}}
{{- end -}}
{{- end -}}
{{- if and .Values.podDisruptionBudget.enabled (not (kindIs "invalid" .Values.podDisruptionBudget.minAvailable)) (not (kindIs "invalid" .Values.podDisruptionBudget.maxUnavailable)) -}}
{{- fail "podDisruptionBudget: set minAvailable or maxUnavailable, not both (set the other to null)" -}}
{{- end -}}
{{- if and (gt (int .Values.preStopSleepSeconds) 0) (semverCompare "<1.30.0-0" .Capabilities.KubeVersion.Version) -}}
{{- fail (printf "preStopSleepSeconds needs Kubernetes 1.30 or later (the preStop sleep action); this cluster is %s" .Capabilities.KubeVersion.Version) -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- fail (printf "autoscaling: minReplicas %d is greater than maxReplicas %d" (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- end -}}
{{- end -}}
