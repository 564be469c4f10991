import './base.css';
import './runDialog.css';
