package inputs

import (
	"fmt"
	"strings"
	"testing"
)

func TestResolveShard(t *testing.T) {
	cases := []struct {
		name  string
		flag  string
		count int
		env   map[string]string
		want  Shard
		err   string
	}{
		{"none", "", 0, nil, Shard{0, 1}, ""},
		{"flag", "2/4", 0, nil, Shard{2, 4}, ""},
		{"flag out of range", "4/4", 0, nil, Shard{}, "want 0 <= index < count"},
		{"flag malformed", "2-4", 0, nil, Shard{}, "want i/n"},
		{"kubernetes", "", 8, map[string]string{"JOB_COMPLETION_INDEX": "3"}, Shard{3, 8}, ""},
		{"kubernetes without count", "", 0, map[string]string{"JOB_COMPLETION_INDEX": "3"}, Shard{}, "--shard-count"},
		{"slurm", "", 0, map[string]string{"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_COUNT": "6"}, Shard{5, 6}, ""},
		{"slurm offset", "", 0, map[string]string{"SLURM_ARRAY_TASK_ID": "11", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "10"}, Shard{1, 4}, ""},
		{"slurm shards rerun", "", 64, map[string]string{"SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_COUNT": "2", "SLURM_ARRAY_TASK_MIN": "5"}, Shard{7, 64}, ""},
		{"slurm bad", "", 0, map[string]string{"SLURM_ARRAY_TASK_ID": "x"}, Shard{}, "not a number"},
		{"flag wins over env", "1/2", 0, map[string]string{"JOB_COMPLETION_INDEX": "3"}, Shard{1, 2}, ""},
		{"count alone", "", 3, nil, Shard{}, "without a shard index"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ResolveShard(c.flag, c.count, func(k string) string { return c.env[k] })
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %v, %v; want %v", got, err, c.want)
			}
		})
	}
}

func TestShardsPartition(t *testing.T) {
	const n = 5
	counts := make([]int, n)
	for i := 0; i < 1000; i++ {
		key := fmt.Sprintf("dir/img%04d", i)
		owners := 0
		for s := 0; s < n; s++ {
			if (Shard{s, n}).Owns(key) {
				owners++
				counts[s]++
			}
		}
		if owners != 1 {
			t.Fatalf("%s owned by %d shards", key, owners)
		}
	}
	for s, c := range counts {
		if c < 150 || c > 250 {
			t.Errorf("shard %d got %d of 1000 images: unbalanced", s, c)
		}
	}
}
