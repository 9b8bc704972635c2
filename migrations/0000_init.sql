CREATE TYPE "public"."dataset_status" AS ENUM('IMPORTING', 'READY', 'FAILED');--> statement-breakpoint
CREATE TYPE "public"."run_kind" AS ENUM('TRAINING', 'SELECTION');--> statement-breakpoint
CREATE TYPE "public"."run_status" AS ENUM('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED');--> statement-breakpoint
CREATE TABLE "datasets" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "datasets_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"name" text NOT NULL,
	"source" text NOT NULL,
	"num_train" integer DEFAULT 0 NOT NULL,
	"num_test" integer DEFAULT 0 NOT NULL,
	"num_classes" integer DEFAULT 0 NOT NULL,
	"input_shape" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"class_counts" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"checksum" text,
	"status" "dataset_status" DEFAULT 'IMPORTING' NOT NULL,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "epoch_metrics" (
	"run_id" integer NOT NULL,
	"epoch" integer NOT NULL,
	"train_loss" double precision NOT NULL,
	"test_loss" double precision,
	"test_accuracy" double precision,
	"seconds" double precision NOT NULL,
	"selection_seconds" double precision NOT NULL,
	"train_seconds" double precision NOT NULL,
	"subset_size" integer NOT NULL,
	CONSTRAINT "epoch_metrics_run_id_epoch_pk" PRIMARY KEY("run_id","epoch")
);
--> statement-breakpoint
CREATE TABLE "runs" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "runs_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"kind" "run_kind" NOT NULL,
	"status" "run_status" DEFAULT 'QUEUED' NOT NULL,
	"dataset_id" integer NOT NULL,
	"strategy" text NOT NULL,
	"budget" text NOT NULL,
	"params" jsonb NOT NULL,
	"progress" double precision DEFAULT 0 NOT NULL,
	"error" text,
	"timings" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "subset_members" (
	"subset_id" integer NOT NULL,
	"index" integer NOT NULL,
	"label" integer NOT NULL,
	"weight" real NOT NULL,
	CONSTRAINT "subset_members_subset_id_index_pk" PRIMARY KEY("subset_id","index")
);
--> statement-breakpoint
CREATE TABLE "subsets" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "subsets_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"run_id" integer NOT NULL,
	"round" integer NOT NULL,
	"epoch" integer NOT NULL,
	"size" integer NOT NULL,
	"seconds" double precision NOT NULL,
	"class_counts" jsonb NOT NULL
);
--> statement-breakpoint
ALTER TABLE "epoch_metrics" ADD CONSTRAINT "epoch_metrics_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "runs" ADD CONSTRAINT "runs_dataset_id_datasets_id_fk" FOREIGN KEY ("dataset_id") REFERENCES "public"."datasets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subset_members" ADD CONSTRAINT "subset_members_subset_id_subsets_id_fk" FOREIGN KEY ("subset_id") REFERENCES "public"."subsets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subsets" ADD CONSTRAINT "subsets_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "datasets_name_key" ON "datasets" USING btree ("name");--> statement-breakpoint
CREATE INDEX "runs_status_idx" ON "runs" USING btree ("status","id");--> statement-breakpoint
CREATE INDEX "runs_dataset_idx" ON "runs" USING btree ("dataset_id","id");--> statement-breakpoint
CREATE INDEX "subset_members_label_idx" ON "subset_members" USING btree ("subset_id","label","index");--> statement-breakpoint
CREATE INDEX "subset_members_weight_idx" ON "subset_members" USING btree ("subset_id","weight" DESC NULLS LAST,"index");--> statement-breakpoint
CREATE INDEX "subset_members_label_weight_idx" ON "subset_members" USING btree ("subset_id","label","weight" DESC NULLS LAST,"index");--> statement-breakpoint
CREATE INDEX "subsets_run_idx" ON "subsets" USING btree ("run_id","round");