package storage

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
	"gocloud.dev/blob"
)

// ErrControlKey is an Object's Err for a key with a control character
// (U+0000–U+001F) in an S3 bucket: S3 lists it, but gocloud.dev, which
// tfcam reads through, writes such characters escaped (as "__0x1__") and so
// cannot address the object.
var ErrControlKey = errors.New("storage: the key has a control character, which tfcam cannot read from S3; rename the object")

// listOptions are the options of one page request under prefix. On S3 they
// ask for URL-encoded keys (encoding-type=url): a key with a control
// character cannot be written in XML 1.0, and S3 lists it raw, so that a
// plain listing of such a prefix fails as a whole ("XML syntax error")
// and none of its other objects is found. The keys are decoded before
// gocloud.dev sees them — only when the answer says they were encoded (a
// store that ignores the parameter answers plain keys) — and the keys
// with control characters are noted in control, for List to report one
// by one.
func listOptions(prefix string, control map[string]bool) *blob.ListOptions {
	return &blob.ListOptions{Prefix: prefix, BeforeList: func(as func(any) bool) error {
		var in *s3.ListObjectsV2Input
		var opts *[]func(*s3.Options)
		if !as(&in) || !as(&opts) {
			return nil // not S3, or its legacy listing: plain keys
		}
		in.EncodingType = types.EncodingTypeUrl
		*opts = append(*opts, func(o *s3.Options) {
			o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
				return st.Initialize.Add(middleware.InitializeMiddlewareFunc("tfcamDecodeListedKeys",
					func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
						out, md, err := next.HandleInitialize(ctx, in)
						if err == nil {
							if res, ok := out.Result.(*s3.ListObjectsV2Output); ok {
								err = decodeListing(res, control)
							}
						}
						return out, md, err
					}), middleware.After)
			})
		})
		return nil
	}}
}

// decodeListing decodes the URL-encoded keys and prefixes of a listing.
func decodeListing(res *s3.ListObjectsV2Output, control map[string]bool) error {
	if res.EncodingType != types.EncodingTypeUrl {
		return nil
	}
	decode := func(p *string) error {
		if p == nil {
			return nil
		}
		k, err := url.QueryUnescape(*p)
		if err != nil {
			return fmt.Errorf("storage: listed key %q is not URL-encoded as asked: %w", *p, err)
		}
		*p = k
		return nil
	}
	for i := range res.Contents {
		if err := decode(res.Contents[i].Key); err != nil {
			return err
		}
		if k := res.Contents[i].Key; k != nil && strings.ContainsFunc(*k, isControl) {
			control[*k] = true
		}
	}
	for i := range res.CommonPrefixes {
		if err := decode(res.CommonPrefixes[i].Prefix); err != nil {
			return err
		}
	}
	for _, p := range []*string{res.Prefix, res.Delimiter, res.StartAfter} {
		if err := decode(p); err != nil {
			return err
		}
	}
	res.EncodingType = ""
	return nil
}

func isControl(r rune) bool { return r < 0x20 }
