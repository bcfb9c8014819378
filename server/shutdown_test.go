package server_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type result struct {
	status int
	body   string
	err    error
}

// serve starts s on a free port and returns its URL, the function that
// stops it and the channel Serve's error arrives on.
func serve(t *testing.T, s interface {
	Serve(context.Context, net.Listener, time.Duration) error
}, timeout time.Duration) (string, context.CancelFunc, chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, timeout) }()
	t.Cleanup(cancel)
	return "http://" + ln.Addr().String(), cancel, done
}

func postAsync(url string, body []byte) chan result {
	out := make(chan result, 1)
	go func() {
		resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(string(body)))
		if err != nil {
			out <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		out <- result{status: resp.StatusCode, body: string(b), err: err}
	}()
	return out
}

// TestGracefulShutdown: a request in flight when shutdown starts is
// answered; new connections are refused; Serve returns nil.
func TestGracefulShutdown(t *testing.T) {
	g := newGate()
	pool := gatePool(t, g)
	s := newServer(t, pool, nil)
	url, stop, done := serve(t, s, 10*time.Second)

	// Wait until the server is up, then start a request that blocks in
	// the model.
	require.Eventually(t, func() bool {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	}, 5*time.Second, 10*time.Millisecond)
	res := postAsync(url, chatBody("masrouter", "Janet has 16 eggs and eats 3. How many are left?", nil))
	select {
	case <-g.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the model was never called")
	}

	stop()
	// The listener closes at once: new connections fail.
	require.Eventually(t, func() bool {
		_, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "http://"), 100*time.Millisecond)
		return err != nil
	}, 5*time.Second, 10*time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Serve returned %v while a request was in flight", err)
	case <-time.After(50 * time.Millisecond):
	}

	g.release()
	r := <-res
	require.NoError(t, r.err)
	assert.Equal(t, http.StatusOK, r.status, r.body)
	assert.Contains(t, r.body, `"chat.completion"`)
	require.NoError(t, <-done)
}

// TestShutdownTimeout: a request still running when the drain times out is
// cancelled, and Serve says so.
func TestShutdownTimeout(t *testing.T) {
	g := newGate()
	defer g.release()
	pool := gatePool(t, g)
	s := newServer(t, pool, nil)
	url, stop, done := serve(t, s, 100*time.Millisecond)
	require.Eventually(t, func() bool {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	}, 5*time.Second, 10*time.Millisecond)
	res := postAsync(url, chatBody("masrouter", "What is 2+2?", nil))
	<-g.started
	stop()
	err := <-done
	require.Error(t, err)
	assert.Contains(t, err.Error(), "1 request(s) still in flight after 100ms were cancelled")
	assert.True(t, errors.Is(err, context.DeadlineExceeded))
	r := <-res
	if r.err == nil {
		// The reply may still reach the client before the connection closes.
		assert.Equal(t, http.StatusServiceUnavailable, r.status, r.body)
		assert.Contains(t, r.body, "shutting_down")
	}
}
