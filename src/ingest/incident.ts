// The incident record lives with the store; this path stays for existing importers.
export * from '../store/incident.js';
