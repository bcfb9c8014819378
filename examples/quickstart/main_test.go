package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQuickstart(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out))
	assert.Contains(t, out.String(), "plan:")
	assert.Contains(t, out.String(), "answer:  391 (score 1)")
	assert.Contains(t, out.String(), "cost:    $")
}
