package receiver

import (
	"reflect"
	"testing"

	"github.com/prometheus/alertmanager/notify/webhook"
	"github.com/stretchr/testify/require"
)

// The receiver's envelope is a copy of Alertmanager's, not an import of it
// (its package links every notifier): field for field, the same names,
// types and JSON tags, so an Alertmanager upgrade that changes it fails here.
func TestTheEnvelopeIsAlertmanagersWebhookMessageFieldForField(t *testing.T) {
	fields := func(typ reflect.Type) []reflect.StructField {
		var fs []reflect.StructField
		for f := range typ.Fields() {
			f.Index, f.Offset = nil, 0
			fs = append(fs, f)
		}
		return fs
	}
	require.Equal(t, fields(reflect.TypeFor[webhook.Message]()), fields(reflect.TypeFor[message]()))
}
