package yamlnode_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/steadywatch/steadywatch/internal/yamlnode"
)

type recipe struct{}

func (recipe) Invalid() string { return "invalid recipe" }

func TestAnErrorSaysWhereAndWhatKindOfDocumentItIsAbout(t *testing.T) {
	require.Nil(t, yamlnode.As[recipe](nil), "no decoder error is no error")

	cause := errors.New("not a number")
	e := yamlnode.As[recipe](&yamlnode.FieldError{File: "r.yml", Line: 4, Path: "steps[1]", Err: cause})
	require.EqualError(t, e, "r.yml:4: steps[1]: not a number")
	require.ErrorIs(t, e, cause)

	e = yamlnode.Errorf[recipe]("steps", "%d is too many", 12)
	require.EqualError(t, e, "steps: 12 is too many")
	require.EqualError(t, &yamlnode.Error[recipe]{Path: "steps"}, "steps: invalid recipe",
		"without a cause the document's kind is the message")
}
