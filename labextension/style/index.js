import './base.css';
import './runDialog.css';
import './runDetail.css';
