package serve

import _ "embed"

// openAPI is the hand-written OpenAPI 3 description served at
// /openapi.json; openapi_test.go checks real answers against it.
//
//go:embed openapi.json
var openAPI []byte
