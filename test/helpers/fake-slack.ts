/** The Slack Web API stand-in over HTTP, with fault injection: see fake-slack-server.ts. */
export {
  FakeSlack,
  type Fault,
  type ResponseUrlPost,
  type SlackCall,
  type StoredMessage,
} from './fake-slack-server.js';
