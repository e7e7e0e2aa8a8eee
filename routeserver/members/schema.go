package members

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// validateSchema validates data against the JSON schema in the file schemaFile and returns one problem,
// prefixed "schema: ", per violation. Data that is not JSON gives no problem here: the decoder reports
// it. An error is returned when the schema itself cannot be used.
func validateSchema(schemaFile string, data []byte) ([]*FieldError, error) {
	compiler := jsonschema.NewCompiler()
	schema, err := compiler.Compile(schemaFile)
	if err != nil {
		return nil, fmt.Errorf("compile schema %s: %w", schemaFile, err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, nil
	}
	err = schema.Validate(doc)
	if err == nil {
		return nil, nil
	}
	var verr *jsonschema.ValidationError
	if !errors.As(err, &verr) {
		return nil, fmt.Errorf("validate against schema %s: %w", schemaFile, err)
	}
	printer := message.NewPrinter(language.English)
	var problems []*FieldError
	var walk func(*jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			problems = append(problems, &FieldError{
				Path:    pointer(e.InstanceLocation),
				Message: "schema: " + e.ErrorKind.LocalizedString(printer),
			})
			return
		}
		for _, cause := range e.Causes {
			walk(cause)
		}
	}
	walk(verr)
	// The validator visits properties in map order: sort for stable output.
	slices.SortFunc(problems, func(a, b *FieldError) int {
		return cmp.Or(comparePointers(a.Path, b.Path), strings.Compare(a.Message, b.Message))
	})
	return problems, nil
}
