/** The Slack Web API stand-in over HTTP: the demo's, so tests and demo exercise the same fake. */
export {
  type Fault,
  LocalSlack as FakeSlack,
  type ResponseUrlPost,
  type SlackCall,
  type StoredMessage,
} from '../../src/demo/local-slack.js';
