/** Absolute paths of the example cluster descriptions (kubectl-style YAML). */
import { fileURLToPath } from 'node:url';

/** The classic textbook example: Service default/database-service 10.0.1.100:3306, three pods on node-1. */
export const databaseServiceYaml = fileURLToPath(new URL('../database-service.yaml', import.meta.url));

/** A small two-node cluster that uses every feature of the model. */
export const smallClusterYaml = fileURLToPath(new URL('../small-cluster.yaml', import.meta.url));

