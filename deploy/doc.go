// Package deploy holds tfcam's container images (docker/), a Kubernetes
// Indexed Job (k8s/) and a Slurm array script (slurm/); it has no Go API.
// Its tests check the templates: the Job against Kubernetes' own API types
// (unknown or mistyped fields fail), the Slurm script with bash -n, and
// that every template runs tfcam the way its sharding expects.
//
// deploy is a module of its own (deploy/go.mod) so that the Kubernetes API
// types its tests decode into stay out of the module graph of tfcam and of
// anyone embedding it; run its tests with `cd deploy && go test ./...` (make
// test does). TestDockerfiles reads ../ for the files the images copy, so
// the tests run from a checkout of the whole repository.
package deploy
