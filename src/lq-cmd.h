/* lq-cmd.h: the subcommands of `lq`. Each takes argv after the subcommand name (argv[0] is the
 * subcommand) and returns the process exit status. */
#pragma once

int lq_cmd_data (int argc, char **argv);
int lq_cmd_bench (int argc, char **argv);
int lq_cmd_train (int argc, char **argv);
int lq_cmd_train_defensegan (int argc, char **argv); /* `lq train defensegan` */
int lq_cmd_eval (int argc, char **argv);
int lq_cmd_attack (int argc, char **argv);
int lq_cmd_purify (int argc, char **argv);
int lq_cmd_encode (int argc, char **argv);
int lq_cmd_eval_table (int argc, char **argv);       /* `lq eval --table` (lq-cmd-table.c) */
int lq_cmd_figure (int argc, char **argv);
