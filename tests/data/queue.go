// Package queue is a bounded work queue with retries and a small stats report.
package queue

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// ErrClosed is returned when pushing to a closed queue.
var ErrClosed = errors.New("queue closed")

// Job is one unit of work.
type Job struct {
	ID       string
	Attempts int
	Run      func(ctx context.Context) error
}

// Queue runs jobs on a fixed number of workers.
type Queue struct {
	mu       sync.Mutex
	jobs     chan *Job
	closed   bool
	failures map[string]int
	maxTries int
}

// New makes a queue holding at most size pending jobs.
func New(size, maxTries int) *Queue {
	if maxTries < 1 {
		maxTries = 1
	}
	return &Queue{
		jobs:     make(chan *Job, size),
		failures: make(map[string]int),
		maxTries: maxTries,
	}
}

// Push adds a job, or fails when the queue is closed.
func (q *Queue) Push(job *Job) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrClosed
	}
	q.jobs <- job
	return nil
}

// Close stops accepting jobs.
func (q *Queue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		close(q.jobs)
	}
}

// Work runs jobs on n workers until the queue is drained or ctx ends.
func (q *Queue) Work(ctx context.Context, n int) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range q.jobs {
				q.runOne(ctx, job)
			}
		}()
	}
	wg.Wait()
}

func (q *Queue) runOne(ctx context.Context, job *Job) {
	for job.Attempts < q.maxTries {
		job.Attempts++
		err := job.Run(ctx)
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(job.Attempts) * 10 * time.Millisecond):
		}
	}
	q.mu.Lock()
	q.failures[job.ID]++
	q.mu.Unlock()
}

// Report lists the failed jobs, most failures first.
func (q *Queue) Report() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	ids := make([]string, 0, len(q.failures))
	for id := range q.failures {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(a, b int) bool {
		if q.failures[ids[a]] != q.failures[ids[b]] {
			return q.failures[ids[a]] > q.failures[ids[b]]
		}
		return ids[a] < ids[b]
	})
	lines := make([]string, len(ids))
	for i, id := range ids {
		lines[i] = fmt.Sprintf("%s: %d", id, q.failures[id])
	}
	return lines
}
