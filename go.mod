module github.com/tfcam/tfcam

go 1.26.8

require (
	github.com/disintegration/imaging v1.6.2
	github.com/wamuir/graft v0.10.0
	golang.org/x/image v0.48.0
	golang.org/x/term v0.37.0
	google.golang.org/protobuf v1.34.2
)

require golang.org/x/sys v0.50.0 // indirect
