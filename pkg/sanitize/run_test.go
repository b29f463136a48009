package sanitize

import "testing"

// A custom resource that is one run is not copied once its status says it
// ended and when; running, or a long-lived resource whose status uses the
// same words for a state it stays in (no end time), it is copied (its
// status stripped as any other).
func TestFinishedRunsAreNotCopied(t *testing.T) {
	ended := func(said string) Decision {
		return Decision{Skip: true, Intent: true, Reason: "a run that ended in the source (" + said + "): copied without its status, the target's controller would run it again"}
	}
	runObjectCases(t, []objectCase{
		{
			name: "a Kubeflow PyTorchJob that succeeded",
			in: `
apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata: {name: mnist, namespace: ml}
spec: {pytorchReplicaSpecs: {}}
status:
  completionTime: "2026-12-07T03:00:00Z"
  conditions:
  - {type: Created, status: "True"}
  - {type: Running, status: "False"}
  - {type: Succeeded, status: "True"}
`,
			dec: ended("its condition Succeeded is True, at its completionTime"),
		},
		{
			name: "a Katib Experiment that failed",
			in: `
apiVersion: kubeflow.org/v1beta1
kind: Experiment
metadata: {name: tune, namespace: ml}
spec: {maxTrialCount: 12}
status:
  completionTime: "2026-12-07T03:00:00Z"
  conditions: [{type: Failed, status: "True", reason: ExperimentFailed}]
`,
			dec: ended("its condition Failed is True, at its completionTime"),
		},
		{
			name: "a CloudNativePG Backup completed",
			in: `
apiVersion: postgresql.cnpg.io/v1
kind: Backup
metadata: {name: nightly-20261207, namespace: db}
spec: {cluster: {name: pg}}
status: {phase: completed, backupId: 20261207T030000, stoppedAt: "2026-12-07T03:04:00Z"}
`,
			dec: ended("its status.phase is completed, at its stoppedAt"),
		},
		{
			name: "a Spark application completed",
			in: `
apiVersion: sparkoperator.k8s.io/v1beta2
kind: SparkApplication
metadata: {name: pi, namespace: spark}
spec: {type: Scala}
status: {applicationState: {state: COMPLETED}, terminationTime: "2026-12-07T03:00:00Z"}
`,
			dec: ended("its status.applicationState.state is COMPLETED, at its terminationTime"),
		},
		{
			name: "a RayJob that failed",
			in: `
apiVersion: ray.io/v1
kind: RayJob
metadata: {name: sample, namespace: ray}
spec: {entrypoint: python job.py}
status: {jobStatus: FAILED, jobDeploymentStatus: Failed, endTime: "2026-12-07T03:00:00Z"}
`,
			dec: ended("its status.jobStatus is FAILED, at its endTime"),
		},
		{
			name: "a Volcano Job completed",
			in: `
apiVersion: batch.volcano.sh/v1alpha1
kind: Job
metadata: {name: mpi, namespace: hpc}
spec: {minAvailable: 3}
status: {state: {phase: Completed, lastTransitionTime: "2026-12-07T03:00:00Z"}, succeeded: 3}
`,
			dec: ended("its status.state.phase is Completed, at its state.lastTransitionTime"),
		},
		{
			name: "a JobSet that failed",
			in: `
apiVersion: jobset.x-k8s.io/v1alpha2
kind: JobSet
metadata: {name: train, namespace: ml}
spec: {replicatedJobs: []}
status:
  terminalState: Failed
  conditions: [{type: Failed, status: "True", lastTransitionTime: "2026-12-07T03:00:00Z"}]
`,
			dec: ended("its status.terminalState is Failed, which it is given once it ended"),
		},
		{
			// Aborted can be resumed (vcctl job resume): not an end.
			name: "a Volcano Job aborted is copied",
			in: `
apiVersion: batch.volcano.sh/v1alpha1
kind: Job
metadata: {name: mpi, namespace: hpc}
spec: {minAvailable: 3}
status: {state: {phase: Aborted, lastTransitionTime: "2026-12-07T03:00:00Z"}}
`,
			want: `
apiVersion: batch.volcano.sh/v1alpha1
kind: Job
metadata: {name: mpi, namespace: hpc}
spec: {minAvailable: 3}
`,
		},
		{
			name: "a JobSet still running is copied",
			in: `
apiVersion: jobset.x-k8s.io/v1alpha2
kind: JobSet
metadata: {name: train, namespace: ml}
spec: {replicatedJobs: []}
status: {restarts: 1, conditions: [{type: StartupPolicyCompleted, status: "True"}]}
`,
			want: `
apiVersion: jobset.x-k8s.io/v1alpha2
kind: JobSet
metadata: {name: train, namespace: ml}
spec: {replicatedJobs: []}
`,
		},
		{
			name: "a PyTorchJob still running is copied",
			in: `
apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata: {name: mnist, namespace: ml}
spec: {pytorchReplicaSpecs: {}}
status:
  startTime: "2026-12-07T03:00:00Z"
  conditions: [{type: Running, status: "True"}, {type: Succeeded, status: "False"}]
`,
			want: `
apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata: {name: mnist, namespace: ml}
spec: {pytorchReplicaSpecs: {}}
`,
		},
		{
			// Argo Rollouts marks a Rollout whose update finished
			// Completed: its settled state, no end of anything.
			name: "an Argo Rollout, Completed, is copied",
			in: `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web, namespace: shop}
spec: {replicas: 3}
status:
  phase: Healthy
  conditions: [{type: Completed, status: "True", reason: RolloutCompleted}, {type: Available, status: "True"}]
`,
			want: `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web, namespace: shop}
spec: {replicas: 3}
`,
		},
		{
			name: "an OLM ClusterServiceVersion, Succeeded, is copied",
			in: `
apiVersion: operators.coreos.com/v1alpha1
kind: ClusterServiceVersion
metadata: {name: etcdoperator.v0.9.4, namespace: operators}
spec: {displayName: etcd}
status: {phase: Succeeded, reason: InstallSucceeded}
`,
			want: `
apiVersion: operators.coreos.com/v1alpha1
kind: ClusterServiceVersion
metadata: {name: etcdoperator.v0.9.4, namespace: operators}
spec: {displayName: etcd}
`,
		},
		{
			// A long-lived resource whose reconcile failed: left out of
			// the copy, the target would lack the database.
			name: "a database in phase Failed is copied",
			in: `
apiVersion: mongodbcommunity.mongodb.com/v1
kind: MongoDBCommunity
metadata: {name: users, namespace: db}
spec: {members: 3}
status: {phase: Failed, message: "error creating automation config", completedAt: "2026-12-07T03:00:00Z"}
`,
			want: `
apiVersion: mongodbcommunity.mongodb.com/v1
kind: MongoDBCommunity
metadata: {name: users, namespace: db}
spec: {members: 3}
`,
		},
		{
			name: "Kubernetes' own groups are not read for it",
			in: `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec: {rules: []}
status: {phase: Succeeded, completionTime: "2026-12-07T03:00:00Z"}
`,
			want: `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec: {rules: []}
`,
		},
	})
}
