// Package deploy holds tfcam's container images (docker/), a Kubernetes
// Indexed Job (k8s/) and a Slurm array script (slurm/); it has no Go API.
// Its tests check the templates: the Job against Kubernetes' own API types
// (unknown or mistyped fields fail), the Slurm script with bash -n, and
// that every template runs tfcam the way its sharding expects.
package deploy
