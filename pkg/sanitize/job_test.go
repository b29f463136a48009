package sanitize

import "testing"

func TestJob(t *testing.T) {
	const finished = "finished in the source; copying would run it again"
	runObjectCases(t, []objectCase{
		{
			name: "running Job loses its generated selector and uid labels",
			in: `
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  namespace: app
  labels:
    app: migrate
    controller-uid: 5b1c
    batch.kubernetes.io/controller-uid: 5b1c
    job-name: migrate
    batch.kubernetes.io/job-name: migrate
spec:
  selector: {matchLabels: {batch.kubernetes.io/controller-uid: 5b1c}}
  template:
    metadata:
      labels:
        controller-uid: 5b1c
        batch.kubernetes.io/controller-uid: 5b1c
        job-name: migrate
        batch.kubernetes.io/job-name: migrate
    spec:
      restartPolicy: Never
      containers: [{name: m, image: migrate:1}]
status: {active: 1, startTime: "2024-05-01T10:00:00Z"}
`,
			want: `
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  namespace: app
  labels:
    app: migrate
    job-name: migrate
    batch.kubernetes.io/job-name: migrate
spec:
  template:
    metadata:
      labels:
        job-name: migrate
        batch.kubernetes.io/job-name: migrate
    spec:
      restartPolicy: Never
      containers: [{name: m, image: migrate:1}]
`,
		},
		{
			name: "manual selector is the user's and stays",
			in: `
apiVersion: batch/v1
kind: Job
metadata: {name: manual, namespace: app}
spec:
  manualSelector: true
  selector: {matchLabels: {controller-uid: mine}}
  template:
    metadata: {labels: {controller-uid: mine}}
    spec: {restartPolicy: Never, containers: [{name: m, image: m:1}]}
`,
		},
		{
			name: "succeeded with completionTime",
			in: `
apiVersion: batch/v1
kind: Job
metadata: {name: done, namespace: app}
spec: {template: {spec: {restartPolicy: Never, containers: [{name: m, image: m:1}]}}}
status: {succeeded: 1, completionTime: "2024-05-01T10:05:00Z"}
`,
			dec: Decision{Skip: true, Reason: finished},
		},
		{
			name: "failed condition",
			in: `
apiVersion: batch/v1
kind: Job
metadata: {name: broken, namespace: app}
spec: {template: {spec: {restartPolicy: Never, containers: [{name: m, image: m:1}]}}}
status:
  failed: 6
  conditions: [{type: Failed, status: "True", reason: BackoffLimitExceeded}]
`,
			dec: Decision{Skip: true, Reason: finished},
		},
		{
			name: "owned by a CronJob",
			in: `
apiVersion: batch/v1
kind: Job
metadata:
  name: nightly-28500000
  namespace: app
  ownerReferences: [{apiVersion: batch/v1, kind: CronJob, name: nightly, uid: u1, controller: true}]
spec: {template: {spec: {restartPolicy: Never, containers: [{name: m, image: m:1}]}}}
`,
			dec: Decision{Skip: true, Reason: "owned by CronJob/nightly: its controller recreates it in the target"},
		},
	})
}
