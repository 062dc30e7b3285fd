{{/*
Names
*/}}
{{- define "ftaas.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name, kept short enough for the component suffixes ("-serving" is the longest) to fit 63 characters.
(A vLLM server's name, "<fullname>-vllm-<model>", is cut to 63 characters: see "ftaas.vllmServers".)
*/}}
{{- define "ftaas.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 55 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 55 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 55 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "ftaas.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "ftaas.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ftaas.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
An image reference: repository:tag, or repository:tag@digest when a digest is set (the digest decides
what is pulled). Called with (dict "repository" "tag" "digest").
*/}}
{{- define "ftaas.imageRef" -}}
{{- printf "%s:%s" .repository .tag }}{{ with .digest }}@{{ . }}{{ end }}
{{- end }}

{{/* The engine image (worker, serving, Kubeflow training nodes). */}}
{{- define "ftaas.image" -}}
{{- include "ftaas.imageRef" (dict "repository" .Values.image.repository "tag" (default .Chart.AppVersion .Values.image.tag) "digest" .Values.image.digest) }}
{{- end }}

{{/* The torch-free API image: api.image, else the engine image's repository and tag + api.image.tagSuffix. */}}
{{- define "ftaas.apiImage" -}}
{{- $i := .Values.api.image }}
{{- $tag := $i.tag | default (printf "%s%s" (default .Chart.AppVersion .Values.image.tag) $i.tagSuffix) }}
{{- include "ftaas.imageRef" (dict "repository" ($i.repository | default .Values.image.repository) "tag" $tag "digest" $i.digest) }}
{{- end }}

{{/*
Deployment annotations for stakater Reloader (reloader.enabled): restart the Deployment when one of the
existing Secrets its pods read changes. Called with (dict "root" $ "storeOnly" <true for vLLM>).
*/}}
{{- define "ftaas.reloaderAnnotations" -}}
{{- $root := .root }}
{{- if $root.Values.reloader.enabled }}
{{- $secrets := list }}
{{- if not .storeOnly }}
{{- $secrets = append $secrets $root.Values.apiKeys.existingSecret }}
{{- $secrets = append $secrets $root.Values.redis.existingSecret }}
{{- $secrets = append $secrets $root.Values.integrations.wandb.existingSecret }}
{{- end }}
{{- $secrets = append $secrets $root.Values.store.credentials.existingSecret }}
{{- $secrets = $secrets | compact | uniq | sortAlpha }}
{{- if $secrets }}
secret.reloader.stakater.com/reload: {{ join "," $secrets | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* The PVC a component's cache dir is on, or "" for an emptyDir. Called like "ftaas.volumes". */}}
{{- define "ftaas.cacheClaim" -}}
{{- $p := .root.Values.cache.persistence }}
{{- if .values.cache.existingClaim }}
{{- .values.cache.existingClaim }}
{{- else if and $p.enabled (has .component $p.components) }}
{{- $p.existingClaim | default (printf "%s-cache" (include "ftaas.fullname" .root)) }}
{{- end }}
{{- end }}

{{/*
Labels. Called with (dict "root" $ "component" "api"); component may be omitted.
*/}}
{{- define "ftaas.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ftaas.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end }}

{{- define "ftaas.labels" -}}
helm.sh/chart: {{ include "ftaas.chart" .root }}
{{ include "ftaas.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: ftaas
{{- end }}

{{/* Selector labels of one vLLM server (one Deployment, its Service and its PDB). Called with (dict "root" $ "name" <server name>). */}}
{{- define "ftaas.vllmSelectorLabels" -}}
{{ include "ftaas.selectorLabels" (dict "root" .root "component" "vllm") }}
ftaas/vllm-server: {{ .name }}
{{- end }}

{{/*
Catalog ids this release allows: the keys of models.catalog (a map, or a JSON object as a string), or the
built-in model (jobs.catalog.DEFAULT_MODEL_ID) when the catalog is empty. As JSON {"ids": [...]}; "known" is
false when the catalog is a string that is not a JSON object (the path of a file in the image).
*/}}
{{- define "ftaas.catalogIds" -}}
{{- $catalog := .Values.models.catalog }}
{{- $known := true }}
{{- if and (kindIs "string" $catalog) $catalog }}
{{- if hasPrefix "{" (trim $catalog) }}
{{- $catalog = fromJson $catalog }}
{{- else }}
{{- $known = false }}
{{- $catalog = dict }}
{{- end }}
{{- end }}
{{- $ids := list }}
{{- if $catalog }}
{{- $ids = keys $catalog | sortAlpha }}
{{- else if $known }}
{{- $ids = list "HuggingFaceTB/SmolLM2-135M-Instruct" }}
{{- end }}
{{- toJson (dict "ids" $ids "known" $known) }}
{{- end }}

{{/*
The vLLM servers: one per entry of vllm.models when vllm.enabled, with everything the templates need about
each, as JSON {"servers": [{"id", "name" (of its Deployment, Service and PDB), "replicas", "gpus",
"resources" (the GPU limit set from gpus), "extraArgs", "url" (its Service, for the API)}]}.
Read it with (include "ftaas.vllmServers" . | fromJson).servers. Defined once; every vLLM template and
FTAAS_VLLM_URLS in the ConfigMap use it.
*/}}
{{- define "ftaas.vllmServers" -}}
{{- $servers := list }}
{{- if .Values.vllm.enabled }}
{{- $fullname := include "ftaas.fullname" . }}
{{- range .Values.vllm.models }}
{{- $id := toString (.id | default "") }}
{{- $short := .name | default ($id | lower | replace "/" "-" | replace "." "-" | replace "_" "-") }}
{{- $name := printf "%s-vllm-%s" $fullname $short | trunc 63 | trimSuffix "-" }}
{{- $gpus := int (ternary .gpus $.Values.vllm.gpus (hasKey . "gpus")) }}
{{- $resources := deepCopy (.resources | default $.Values.vllm.resources | default (dict)) }}
{{- $limits := deepCopy ($resources.limits | default (dict)) }}
{{- if gt $gpus 0 }}
{{- $_ := set $limits "nvidia.com/gpu" $gpus }}
{{- end }}
{{- $_ := set $resources "limits" $limits }}
{{- $server := dict "id" $id "short" $short "name" $name "gpus" $gpus "resources" $resources }}
{{- $_ := set $server "replicas" (int (ternary .replicas $.Values.vllm.replicaCount (hasKey . "replicas"))) }}
{{- $_ := set $server "extraArgs" (concat ($.Values.vllm.extraArgs | default list) (.extraArgs | default list)) }}
{{- $_ := set $server "url" (printf "http://%s.%s.svc:%d" $name $.Release.Namespace (int $.Values.vllm.service.port)) }}
{{- $servers = append $servers $server }}
{{- end }}
{{- end }}
{{- toJson (dict "servers" $servers) }}
{{- end }}

{{/*
Secrets: which Secret and key each secret setting comes from.
*/}}
{{- define "ftaas.apiKeysSecretName" -}}
{{- default (include "ftaas.fullname" .) .Values.apiKeys.existingSecret }}
{{- end }}

{{- define "ftaas.apiKeysSecretKey" -}}
{{- if .Values.apiKeys.existingSecret }}{{ .Values.apiKeys.existingSecretKey }}{{ else }}api-keys{{ end }}
{{- end }}

{{- define "ftaas.redisSecretName" -}}
{{- default (include "ftaas.fullname" .) .Values.redis.existingSecret }}
{{- end }}

{{- define "ftaas.redisSecretKey" -}}
{{- if .Values.redis.existingSecret }}{{ .Values.redis.existingSecretKey }}{{ else }}redis-url{{ end }}
{{- end }}

{{/* "true" when static S3 credentials are configured (inline or from an existing Secret). */}}
{{- define "ftaas.hasWandb" -}}
{{- if or .Values.integrations.wandb.existingSecret .Values.integrations.wandb.apiKey }}true{{ end }}
{{- end }}

{{- define "ftaas.wandbSecretName" -}}
{{- default (include "ftaas.fullname" .) .Values.integrations.wandb.existingSecret }}
{{- end }}

{{- define "ftaas.wandbSecretKey" -}}
{{- if .Values.integrations.wandb.existingSecret }}{{ .Values.integrations.wandb.existingSecretKey }}{{ else }}wandb-api-key{{ end }}
{{- end }}

{{- define "ftaas.hasStoreCredentials" -}}
{{- if or .Values.store.credentials.existingSecret .Values.store.credentials.accessKeyId }}true{{ end }}
{{- end }}

{{- define "ftaas.storeCredentialsSecretName" -}}
{{- default (include "ftaas.fullname" .) .Values.store.credentials.existingSecret }}
{{- end }}

{{- define "ftaas.storeAccessKeyIdKey" -}}
{{- if .Values.store.credentials.existingSecret }}{{ .Values.store.credentials.accessKeyIdKey }}{{ else }}aws-access-key-id{{ end }}
{{- end }}

{{- define "ftaas.storeSecretAccessKeyKey" -}}
{{- if .Values.store.credentials.existingSecret }}{{ .Values.store.credentials.secretAccessKeyKey }}{{ else }}aws-secret-access-key{{ end }}
{{- end }}

{{/*
Where Kubeflow training pods read each secret setting, as JSON {variable: "secret-name/key"}
(FTAAS_KUBEFLOW_SECRET_REFS): the same Secrets and keys as "ftaas.env", by name, never the values.
*/}}
{{- define "ftaas.kubeflowSecretRefs" -}}
{{- $refs := dict "FTAAS_REDIS_URL" (printf "%s/%s" (include "ftaas.redisSecretName" .) (include "ftaas.redisSecretKey" .)) }}
{{- if include "ftaas.hasStoreCredentials" . }}
{{- $secret := include "ftaas.storeCredentialsSecretName" . }}
{{- $_ := set $refs "AWS_ACCESS_KEY_ID" (printf "%s/%s" $secret (include "ftaas.storeAccessKeyIdKey" .)) }}
{{- $_ := set $refs "AWS_SECRET_ACCESS_KEY" (printf "%s/%s" $secret (include "ftaas.storeSecretAccessKeyKey" .)) }}
{{- end }}
{{- if include "ftaas.hasWandb" . }}
{{- $_ := set $refs "FTAAS_WANDB_API_KEY" (printf "%s/%s" (include "ftaas.wandbSecretName" .) (include "ftaas.wandbSecretKey" .)) }}
{{- end }}
{{- toJson $refs }}
{{- end }}

{{/*
Fail early, with one message per problem, when a required value is missing or inconsistent.
*/}}
{{- define "ftaas.validate" -}}
{{- $errors := list }}
{{- if not (or .Values.apiKeys.existingSecret .Values.apiKeys.value) }}
{{- $errors = append $errors "set apiKeys.value (`key:tenant,...`) or apiKeys.existingSecret" }}
{{- end }}
{{- if not (or .Values.redis.existingSecret .Values.redis.url) }}
{{- $errors = append $errors "set redis.url or redis.existingSecret: Redis is required and this chart does not install it" }}
{{- end }}
{{- if not (hasPrefix "s3://" .Values.store.url) }}
{{- $errors = append $errors "set store.url to s3://bucket/prefix: the pods share no filesystem, so the store must be S3-compatible" }}
{{- end }}
{{- $creds := .Values.store.credentials }}
{{- if and (not $creds.existingSecret) (ne (empty $creds.accessKeyId) (empty $creds.secretAccessKey)) }}
{{- $errors = append $errors "set both store.credentials.accessKeyId and store.credentials.secretAccessKey, or neither" }}
{{- end }}
{{- range $component := list "api" "worker" "serving" "vllm" }}
{{- $pdb := (index $.Values $component).podDisruptionBudget }}
{{- if and $pdb.enabled (eq (toString $pdb.minAvailable) "") (eq (toString $pdb.maxUnavailable) "") }}
{{- $errors = append $errors (printf "%s.podDisruptionBudget: set minAvailable or maxUnavailable" $component) }}
{{- end }}
{{- if and $pdb.enabled (ne (toString $pdb.minAvailable) "") (ne (toString $pdb.maxUnavailable) "") }}
{{- $errors = append $errors (printf "%s.podDisruptionBudget: set only one of minAvailable and maxUnavailable" $component) }}
{{- end }}
{{- end }}
{{- if .Values.vllm.enabled }}
{{- if not .Values.vllm.image.repository }}
{{- $errors = append $errors "vllm.enabled needs vllm.image.repository: an image with CUDA vLLM and ftaas (docs/deploy.md)" }}
{{- end }}
{{- if not .Values.vllm.models }}
{{- $errors = append $errors "vllm.enabled needs at least one entry in vllm.models ({id: <catalog id>})" }}
{{- end }}
{{- $allowed := include "ftaas.catalogIds" . | fromJson }}
{{- $ids := list }}
{{- $names := list }}
{{- range (include "ftaas.vllmServers" . | fromJson).servers }}
{{- if not .id }}
{{- $errors = append $errors "vllm.models: every entry needs an id (a catalog base model id)" }}
{{- else if and $allowed.known (not (has .id $allowed.ids)) }}
{{- $errors = append $errors (printf "vllm.models: %q is not in the model catalog (%s)" .id (join ", " $allowed.ids)) }}
{{- end }}
{{- if has .id $ids }}
{{- $errors = append $errors (printf "vllm.models: %q is listed twice" .id) }}
{{- end }}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" .short) }}
{{- $errors = append $errors (printf "vllm.models: name %q (of %q) may only use lower-case letters, digits and '-'" .short .id) }}
{{- end }}
{{- if has .name $names }}
{{- $errors = append $errors (printf "vllm.models: two servers are named %q (names are cut to 63 characters): set a shorter name on one" .name) }}
{{- end }}
{{- $ids = append $ids .id }}
{{- $names = append $names .name }}
{{- end }}
{{- end }}
{{- $hpa := .Values.api.autoscaling }}
{{- if and $hpa.enabled (not (or $hpa.targetCPUUtilizationPercentage $hpa.targetMemoryUtilizationPercentage)) }}
{{- $errors = append $errors "api.autoscaling: set targetCPUUtilizationPercentage and/or targetMemoryUtilizationPercentage" }}
{{- end }}
{{- range $component := list "worker" "serving" }}
{{- $scaling := (index $.Values $component).autoscaling }}
{{- if and $scaling.enabled (not $scaling.prometheusAddress) }}
{{- $errors = append $errors (printf "%s.autoscaling.enabled needs %s.autoscaling.prometheusAddress (the Prometheus that scrapes this release)" $component $component) }}
{{- end }}
{{- if and $scaling.enabled (gt (int $scaling.minReplicas) (int $scaling.maxReplicas)) }}
{{- $errors = append $errors (printf "%s.autoscaling: minReplicas is above maxReplicas" $component) }}
{{- end }}
{{- end }}
{{- range .Values.cache.persistence.components }}
{{- if not (has . (list "api" "worker" "serving" "vllm")) }}
{{- $errors = append $errors (printf "cache.persistence.components: unknown component %q (api, worker, serving, vllm)" .) }}
{{- end }}
{{- end }}
{{- if and .Values.ingress.enabled (not .Values.ingress.paths) }}
{{- $errors = append $errors "ingress.paths: list at least one path (/v1)" }}
{{- end }}
{{- if and .Values.ingress.tls.enabled (not .Values.ingress.tls.secretName) }}
{{- $errors = append $errors "ingress.tls.enabled needs ingress.tls.secretName" }}
{{- end }}
{{- range .Values.models.volume.components }}
{{- if not (has . (list "api" "worker" "serving" "vllm")) }}
{{- $errors = append $errors (printf "models.volume.components: unknown component %q (api, worker, serving, vllm)" .) }}
{{- end }}
{{- end }}
{{- if and .Values.kubeflow.enabled (not .Values.kubeflow.runtime) }}
{{- $errors = append $errors "kubeflow.enabled needs kubeflow.runtime (Kubeflow Trainer's torch-distributed ClusterTrainingRuntime, or yours)" }}
{{- end }}
{{- if $errors }}
{{- fail (printf "\n  - %s" (join "\n  - " $errors)) }}
{{- end }}
{{- end }}

{{/*
The environment shared by every container (api, worker, serving, vllm): non-secret settings from the
ConfigMap, secrets from Secrets. Defined here once; every Deployment includes it. Called with
(dict "root" $ "extraEnv" <list of EnvVar for one component>), plus "storeOnly" true for vLLM: its
resolver plugin reads only the store, so it gets the store's credentials but neither the API keys nor Redis.
*/}}
{{- define "ftaas.env" -}}
{{- $root := .root -}}
envFrom:
  - configMapRef:
      name: {{ include "ftaas.fullname" $root }}
{{- if or (not .storeOnly) (include "ftaas.hasStoreCredentials" $root) .extraEnv }}
env:
  {{- if not .storeOnly }}
  - name: FTAAS_API_KEYS
    valueFrom:
      secretKeyRef:
        name: {{ include "ftaas.apiKeysSecretName" $root }}
        key: {{ include "ftaas.apiKeysSecretKey" $root }}
  - name: FTAAS_REDIS_URL
    valueFrom:
      secretKeyRef:
        name: {{ include "ftaas.redisSecretName" $root }}
        key: {{ include "ftaas.redisSecretKey" $root }}
  {{- if include "ftaas.hasWandb" $root }}
  - name: FTAAS_WANDB_API_KEY
    valueFrom:
      secretKeyRef:
        name: {{ include "ftaas.wandbSecretName" $root }}
        key: {{ include "ftaas.wandbSecretKey" $root }}
  {{- end }}
  {{- end }}
  {{- if include "ftaas.hasStoreCredentials" $root }}
  - name: AWS_ACCESS_KEY_ID
    valueFrom:
      secretKeyRef:
        name: {{ include "ftaas.storeCredentialsSecretName" $root }}
        key: {{ include "ftaas.storeAccessKeyIdKey" $root }}
  - name: AWS_SECRET_ACCESS_KEY
    valueFrom:
      secretKeyRef:
        name: {{ include "ftaas.storeCredentialsSecretName" $root }}
        key: {{ include "ftaas.storeSecretAccessKeyKey" $root }}
  {{- end }}
  {{- with .extraEnv }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}
{{- end }}

{{/*
Pod annotations that roll the pods when the ConfigMap or the chart's Secret changes.
*/}}
{{- define "ftaas.checksums" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}

{{/*
Writable volumes for a pod: /tmp, the cache dir, /dev/shm (when shmSizeLimit is set) and the model
volume (when this component mounts it). Called with (dict "root" $ "component" "worker"
"values" .Values.worker); "ftaas.volumeMounts" takes the same arguments.
*/}}
{{- define "ftaas.volumes" -}}
{{- $root := .root -}}
{{- $v := .values -}}
- name: tmp
  emptyDir:
    {{- with $v.tmpSizeLimit }}
    sizeLimit: {{ . }}
    {{- else }} {}
    {{- end }}
- name: cache
  {{- with include "ftaas.cacheClaim" . }}
  persistentVolumeClaim:
    claimName: {{ . }}
  {{- else }}
  emptyDir:
    {{- with $v.cache.sizeLimit }}
    sizeLimit: {{ . }}
    {{- else }} {}
    {{- end }}
  {{- end }}
{{- if $v.shmSizeLimit }}
- name: shm
  emptyDir:
    medium: Memory
    sizeLimit: {{ $v.shmSizeLimit }}
{{- end }}
{{- if and $root.Values.models.volume.existingClaim (has .component $root.Values.models.volume.components) }}
- name: models
  persistentVolumeClaim:
    claimName: {{ $root.Values.models.volume.existingClaim }}
    readOnly: true
{{- end }}
{{- end }}

{{- define "ftaas.volumeMounts" -}}
{{- $root := .root -}}
{{- $v := .values -}}
- name: tmp
  mountPath: /tmp
- name: cache
  mountPath: {{ $root.Values.cache.mountPath }}
{{- if $v.shmSizeLimit }}
- name: shm
  mountPath: /dev/shm
{{- end }}
{{- if and $root.Values.models.volume.existingClaim (has .component $root.Values.models.volume.components) }}
- name: models
  mountPath: {{ $root.Values.models.volume.mountPath }}
  {{- with $root.Values.models.volume.subPath }}
  subPath: {{ . }}
  {{- end }}
  readOnly: true
{{- end }}
{{- end }}

{{/*
Scheduling for one component: nodeSelector, tolerations, affinity. Called with the component's values.
*/}}
{{- define "ftaas.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
