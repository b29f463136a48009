package sanitize

import "testing"

// A custom resource that is one run is not copied once its status says it
// ended; running, or a long-lived resource whose conditions say nothing of
// an end, it is copied (its status stripped as any other).
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
  conditions:
  - {type: Created, status: "True"}
  - {type: Running, status: "False"}
  - {type: Succeeded, status: "True"}
`,
			dec: ended("its condition Succeeded is True"),
		},
		{
			name: "a JobSet that failed",
			in: `
apiVersion: jobset.x-k8s.io/v1alpha2
kind: JobSet
metadata: {name: train, namespace: ml}
spec: {replicatedJobs: []}
status:
  conditions: [{type: Failed, status: "True", reason: FailedJobs}]
`,
			dec: ended("its condition Failed is True"),
		},
		{
			name: "a CloudNativePG Backup completed",
			in: `
apiVersion: postgresql.cnpg.io/v1
kind: Backup
metadata: {name: nightly-20261207, namespace: db}
spec: {cluster: {name: pg}}
status: {phase: completed, backupId: 20261207T030000}
`,
			dec: ended("its status.phase is completed"),
		},
		{
			name: "a Spark application completed",
			in: `
apiVersion: sparkoperator.k8s.io/v1beta2
kind: SparkApplication
metadata: {name: pi, namespace: spark}
spec: {type: Scala}
status: {applicationState: {state: COMPLETED}}
`,
			dec: ended("its status.applicationState.state is COMPLETED"),
		},
		{
			name: "a RayJob that succeeded",
			in: `
apiVersion: ray.io/v1
kind: RayJob
metadata: {name: sample, namespace: ray}
spec: {entrypoint: python job.py}
status: {jobStatus: SUCCEEDED, jobDeploymentStatus: Complete}
`,
			dec: ended("its status.jobStatus is SUCCEEDED"),
		},
		{
			name: "a Volcano Job still running is copied",
			in: `
apiVersion: batch.volcano.sh/v1alpha1
kind: Job
metadata: {name: mpi, namespace: hpc}
spec: {minAvailable: 2}
status: {state: {phase: Running}}
`,
			want: `
apiVersion: batch.volcano.sh/v1alpha1
kind: Job
metadata: {name: mpi, namespace: hpc}
spec: {minAvailable: 2}
`,
		},
		{
			name: "a Volcano Job completed",
			in: `
apiVersion: batch.volcano.sh/v1alpha1
kind: Job
metadata: {name: mpi, namespace: hpc}
spec: {minAvailable: 2}
status: {state: {phase: Completed}}
`,
			dec: ended("its status.state.phase is Completed"),
		},
		{
			name: "a long-lived resource, Ready, with a Failed condition that is False, is copied",
			in: `
apiVersion: kafka.strimzi.io/v1beta2
kind: Kafka
metadata: {name: events, namespace: kafka}
spec: {kafka: {replicas: 3}}
status:
  conditions: [{type: Ready, status: "True"}, {type: Failed, status: "False"}]
`,
			want: `
apiVersion: kafka.strimzi.io/v1beta2
kind: Kafka
metadata: {name: events, namespace: kafka}
spec: {kafka: {replicas: 3}}
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
status: {phase: Failed, message: "error creating automation config"}
`,
			want: `
apiVersion: mongodbcommunity.mongodb.com/v1
kind: MongoDBCommunity
metadata: {name: users, namespace: db}
spec: {members: 3}
`,
		},
		{
			name: "a RayJob that failed",
			in: `
apiVersion: ray.io/v1
kind: RayJob
metadata: {name: sample, namespace: ray}
spec: {entrypoint: python job.py}
status: {jobStatus: FAILED}
`,
			dec: ended("its status.jobStatus is FAILED"),
		},
		{
			name: "Kubernetes' own groups are not read for it",
			in: `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec: {rules: []}
status: {phase: Failed}
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
