package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStaticVsRouted(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, 30, 1))
	assert.Contains(t, out.String(), "static-delegation")
	assert.Contains(t, out.String(), "masrouter spends")
}
