module github.com/tfcam/tfcam

go 1.26.8

require github.com/wamuir/graft v0.10.0

require google.golang.org/protobuf v1.34.2 // indirect
