package browser

import (
	"syscall/js"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A goroutine that yields lets timers fire between its steps; one that
// does not holds them until it ends.
func TestYieldLetsTimersRun(t *testing.T) {
	fired := make(chan time.Time, 1)
	cb := js.FuncOf(func(js.Value, []js.Value) any { fired <- time.Now(); return nil })
	defer cb.Release()
	start := time.Now()
	js.Global().Call("setTimeout", cb, 5)
	var b Budget
	b.Slice = 2 * time.Millisecond
	for time.Since(start) < 200*time.Millisecond {
		b.Spend()
	}
	end := time.Now()
	select {
	case at := <-fired:
		assert.True(t, at.Before(end), "the timer fired during the work, not after it")
	default:
		t.Fatal("a 5 ms timer did not fire during 200 ms of work that yields")
	}
}

func TestYieldConcurrent(t *testing.T) {
	done := make(chan int, 3)
	for i := range 3 {
		go func() {
			for range 10 {
				Yield()
			}
			done <- i
		}()
	}
	for range 3 {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			require.FailNow(t, "yielding goroutines did not finish")
		}
	}
}
