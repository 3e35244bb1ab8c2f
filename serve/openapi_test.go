package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestOpenAPI checks real answers against /openapi.json: every field an
// answer has is described (schemas are closed: additionalProperties
// false), every required field is there, and types match; every endpoint
// and status code exercised is documented.
func TestOpenAPI(t *testing.T) {
	s := startServer(t, Options{MaxBodyBytes: 1 << 20}, nil)
	res, err := http.Get(s.url + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		t.Fatalf("/openapi.json: %v", err)
	}
	res.Body.Close()
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.") {
		t.Fatalf("openapi version %q, want 3.x", v)
	}
	img := shapesImages(t, 2)
	tests := []struct {
		name, method, path, docPath, ct string
		body                            []byte
		code                            int
	}{
		{"explain everything", "POST", "/v1/models/shapes:explain", "/v1/models/{name}:explain", "application/json",
			explainJSON(img, map[string]any{"method": "gradcam,hirescam", "class": "top2", "output": "map16,float", "overlay": true, "top": 3}), 200},
		{"explain raw", "POST", "/v1/models/shapes:explain?class=1", "/v1/models/{name}:explain", "image/png", img[0], 200},
		{"explain a class by label", "POST", "/v1/models/shapes:explain?class=Triangle", "/v1/models/{name}:explain", "image/png", img[0], 200},
		{"predict", "POST", "/v1/models/shapes:predict", "/v1/models/{name}:predict", "image/png", img[0], 200},
		{"status", "GET", "/v1/models/shapes", "/v1/models/{name}", "", nil, 200},
		{"bad image", "POST", "/v1/models/shapes:explain", "/v1/models/{name}:explain", "image/png", []byte("nope"), 400},
		{"no model", "GET", "/v1/models/nope", "/v1/models/{name}", "", nil, 404},
		{"healthz", "GET", "/healthz", "/healthz", "", nil, 200},
		{"readyz", "GET", "/readyz", "/readyz", "", nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(context.Background(), tt.method, s.url+tt.path, strings.NewReader(string(tt.body)))
			if tt.ct != "" {
				req.Header.Set("Content-Type", tt.ct)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tt.code {
				t.Fatalf("%d %s, want %d", res.StatusCode, data, tt.code)
			}
			schema := responseSchema(t, doc, tt.docPath, strings.ToLower(tt.method), res.StatusCode)
			var v any
			if err := json.Unmarshal(data, &v); err != nil {
				t.Fatal(err)
			}
			for _, e := range validate(doc, schema, v, "$") {
				t.Error(e)
			}
		})
	}
	// The request schema describes what the server accepts.
	reqSchema := ref(doc, "#/components/schemas/Request")
	var reqBody any
	json.Unmarshal(explainJSON(img, map[string]any{"method": "gradcam", "class": 1, "output": "float", "overlay": true, "top": 2}), &reqBody)
	for _, e := range validate(doc, reqSchema, reqBody, "request") {
		t.Error(e)
	}
}

// TestOpenAPIValidatorBites: the validator catches a field the document
// does not describe, a missing required field and a wrong type.
func TestOpenAPIValidatorBites(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	schema := ref(doc, "#/components/schemas/Prediction")
	for _, tt := range []struct {
		body string
		want string
	}{
		{`{"class": 1, "label": "a", "score": 0.5, "extra": 1}`, "extra"},
		{`{"class": 1, "label": "a"}`, "score"},
		{`{"class": "1", "label": "a", "score": 0.5}`, "class"},
		{`{"class": 1.5, "label": "a", "score": 0.5}`, "class"},
	} {
		var v any
		json.Unmarshal([]byte(tt.body), &v)
		errs := validate(doc, schema, v, "$")
		if len(errs) == 0 || !strings.Contains(strings.Join(errs, "\n"), tt.want) {
			t.Errorf("%s: errors %q, want one about %q", tt.body, errs, tt.want)
		}
	}
}

// responseSchema finds the schema of a documented answer.
func responseSchema(t *testing.T, doc map[string]any, path, method string, code int) map[string]any {
	t.Helper()
	p, ok := dig(doc, "paths", path, method).(map[string]any)
	if !ok {
		t.Fatalf("/openapi.json has no %s %s", method, path)
	}
	r, ok := dig(p, "responses", fmt.Sprint(code)).(map[string]any)
	if !ok {
		t.Fatalf("/openapi.json: %s %s has no %d answer", method, path, code)
	}
	if s, ok := r["$ref"].(string); ok {
		r = ref(doc, s)
	}
	s, ok := dig(r, "content", "application/json", "schema").(map[string]any)
	if !ok {
		t.Fatalf("/openapi.json: %s %s %d has no JSON schema", method, path, code)
	}
	return s
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func ref(doc map[string]any, r string) map[string]any {
	m, _ := dig(doc, strings.Split(strings.TrimPrefix(r, "#/"), "/")...).(map[string]any)
	return m
}

// validate checks v against the subset of JSON Schema the document uses:
// $ref, type, properties, required, additionalProperties false, items,
// oneOf, enum, nullable.
func validate(doc, schema map[string]any, v any, at string) []string {
	if r, ok := schema["$ref"].(string); ok {
		schema = ref(doc, r)
		if schema == nil {
			return []string{at + ": unresolved " + r}
		}
	}
	if one, ok := schema["oneOf"].([]any); ok {
		for _, s := range one {
			if len(validate(doc, s.(map[string]any), v, at)) == 0 {
				return nil
			}
		}
		return []string{fmt.Sprintf("%s: %v matches none of oneOf", at, v)}
	}
	if v == nil {
		if n, _ := schema["nullable"].(bool); n {
			return nil
		}
		return []string{at + ": null, not nullable"}
	}
	if enum, ok := schema["enum"].([]any); ok && !slices.Contains(enum, v) {
		return []string{fmt.Sprintf("%s: %v not in %v", at, v, enum)}
	}
	var errs []string
	switch typ, _ := schema["type"].(string); typ {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want object", at, v)}
		}
		props, _ := schema["properties"].(map[string]any)
		for _, r := range asStrings(schema["required"]) {
			if _, ok := m[r]; !ok {
				errs = append(errs, fmt.Sprintf("%s: required field %q missing", at, r))
			}
		}
		for k, fv := range m {
			ps, ok := props[k].(map[string]any)
			if !ok {
				if ap, ok := schema["additionalProperties"].(bool); ok && !ap {
					errs = append(errs, fmt.Sprintf("%s: field %q not in the document", at, k))
				}
				continue
			}
			errs = append(errs, validate(doc, ps, fv, at+"."+k)...)
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want array", at, v)}
		}
		items, _ := schema["items"].(map[string]any)
		for i, x := range a {
			errs = append(errs, validate(doc, items, x, fmt.Sprintf("%s[%d]", at, i))...)
		}
	case "string":
		if _, ok := v.(string); !ok {
			errs = append(errs, fmt.Sprintf("%s: %T, want string", at, v))
		}
	case "integer":
		if f, ok := v.(float64); !ok || f != float64(int64(f)) {
			errs = append(errs, fmt.Sprintf("%s: %v, want integer", at, v))
		}
	case "number":
		if _, ok := v.(float64); !ok {
			errs = append(errs, fmt.Sprintf("%s: %T, want number", at, v))
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			errs = append(errs, fmt.Sprintf("%s: %T, want boolean", at, v))
		}
	}
	return errs
}

func asStrings(v any) []string {
	a, _ := v.([]any)
	var s []string
	for _, x := range a {
		if str, ok := x.(string); ok {
			s = append(s, str)
		}
	}
	return s
}
